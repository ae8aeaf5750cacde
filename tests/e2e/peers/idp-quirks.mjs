// IdP quirk profiles for tests/e2e/idp_quirks.test.mjs: what real providers
// put in their id_tokens, played by the oidc-provider test IdP
// (peers/idp.mjs) through its --issuer-path option and IDP_EXTRA_USERS.
// Each profile is { issuerPath, users } for startIdp()/startStack({ idp });
// the users' claims are released in the id_token (peers/idp.mjs releases
// every non-standard claim with the openid scope).
//
// What each one mimics (docs/idps.md has the operator's side):
//   entra     Microsoft Entra ID v2.0: issuer https://login.microsoftonline.com/
//             <tenant-id>/v2.0 (a tenant path), no `email` unless configured
//             but `preferred_username` and `upn`, `oid`/`tid`, groups as
//             object-id GUIDs, and the "groups overage" (a user in more groups
//             than fit: no groups claim, `_claim_names`/`_claim_sources`
//             pointing at Microsoft Graph). Entra v2.0 also refuses the RFC
//             8707 `resource` parameter (AADSTS901002): the test checks the
//             proxy never sends it upstream.
//   keycloak  issuer /realms/<realm>; the group mapper's "full group path"
//             gives groups as paths (/team/sub).
//   okta      Okta custom authorization server (issuer /oauth2/default) or
//             Auth0 with a namespaced custom claim: the groups under
//             https://example.com/groups, next to an unrelated `groups`.
//   google    issuer https://accounts.google.com (no path, no trailing slash:
//             the default shape of peers/idp.mjs), `hd` for Workspace
//             accounts and none for personal ones.

export const ENTRA_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const ENTRA_GROUP_MCP = '8f1c6a5e-3b1e-4c8a-9d7e-2f0b1c3d4e5f';
export const ENTRA_GROUP_OTHER = '0b6a1f0e-52c4-4f0e-8a39-6d1c2e3f4a5b';
export const OKTA_GROUPS_CLAIM = 'https://example.com/groups';

export const PROFILES = {
  entra: {
    issuerPath: `/${ENTRA_TENANT}/v2.0`,
    users: {
      ann: {
        password: 'ann-pw',
        claims: {
          name: 'Ann Contoso',
          preferred_username: 'ann@contoso.example',
          upn: 'ann.upn@contoso.example',
          oid: '00000000-0000-0000-66f3-3332eca7ea81',
          tid: ENTRA_TENANT,
          ver: '2.0',
          groups: [ENTRA_GROUP_MCP, ENTRA_GROUP_OTHER],
        },
      },
      // More groups than fit in a token: Entra leaves `groups` out and says
      // where to fetch them instead.
      olga: {
        password: 'olga-pw',
        claims: {
          name: 'Olga Overage',
          preferred_username: 'olga@contoso.example',
          oid: '00000000-0000-0000-1111-222233334444',
          tid: ENTRA_TENANT,
          ver: '2.0',
          _claim_names: { groups: 'src1' },
          _claim_sources: {
            src1: { endpoint: `https://graph.windows.net/${ENTRA_TENANT}/users/00000000-0000-0000-1111-222233334444/getMemberObjects` },
          },
        },
      },
    },
  },
  keycloak: {
    issuerPath: '/realms/mcp',
    users: {
      kim: {
        password: 'kim-pw',
        claims: { email: 'kim@example.com', email_verified: true, name: 'Kim', groups: ['/team/sub', '/team'] },
      },
      kurt: {
        password: 'kurt-pw',
        claims: { email: 'kurt@example.com', email_verified: true, name: 'Kurt', groups: ['/team/subgroup', 'sub'] },
      },
    },
  },
  okta: {
    issuerPath: '/oauth2/default',
    users: {
      oscar: {
        password: 'oscar-pw',
        claims: {
          email: 'oscar@example.com', email_verified: true, name: 'Oscar',
          [OKTA_GROUPS_CLAIM]: ['mcp-users', 'Everyone'], groups: ['unrelated'],
        },
      },
      otto: {
        password: 'otto-pw',
        claims: { email: 'otto@example.com', email_verified: true, name: 'Otto', groups: ['mcp-users'] },
      },
    },
  },
  google: {
    issuerPath: '',
    users: {
      gina: {
        password: 'gina-pw',
        claims: { email: 'gina@example.com', email_verified: true, name: 'Gina', hd: 'example.com' },
      },
      // A personal Google account: no hd at all.
      pete: {
        password: 'pete-pw',
        claims: { email: 'pete@gmail.example', email_verified: true, name: 'Pete' },
      },
      hank: {
        password: 'hank-pw',
        claims: { email: 'hank@other.example', email_verified: true, name: 'Hank', hd: 'other.example' },
      },
    },
  },
};

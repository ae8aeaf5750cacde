#include "base/idn.h"

#include <idn2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unictype.h>
#include <unistr.h>

#include "base/strtab.h"
#include "base/xalloc.h"

static const char *const rc_names[IDN_RC_COUNT] = {
    [IDN_OK] = "ok",
    [IDN_ASCII] = "ascii",
    [IDN_ERR_MIXED_SCRIPT] = "mixed_script",
    [IDN_ERR_INVALID] = "invalid",
};

const char *
idn_rc_str(enum idn_rc rc)
{
    return strtab_name(rc_names, IDN_RC_COUNT, rc, "unknown");
}

/* Does any byte lie outside ASCII, or any label start with the ACE prefix
 * "xn--" (any case)? Only such names need IDNA processing. */
static bool
needs_idna(const char *host)
{
    bool label_start = true;
    for (const char *p = host; *p != '\0'; p++) {
        if ((unsigned char)*p >= 0x80) {
            return true;
        }
        if (label_start && strncasecmp(p, "xn--", 4) == 0) {
            return true;
        }
        label_start = *p == '.';
    }
    return false;
}

/* Script bits for the sets the highly restrictive profile allows. */
enum {
    S_LATIN = 1 << 0,
    S_HAN = 1 << 1,
    S_HIRAGANA = 1 << 2,
    S_KATAKANA = 1 << 3,
    S_BOPOMOFO = 1 << 4,
    S_HANGUL = 1 << 5,
    S_OTHER_SHIFT = 6, /* another script: its own bit from here on */
};

/* The scripts of one label allowed together? seen counts distinct
 * scripts, mask holds the CJK/Latin ones. */
static bool
scripts_allowed(unsigned seen, unsigned mask)
{
    if (seen <= 1) {
        return true;
    }
    static const unsigned sets[] = {
        S_LATIN | S_HAN | S_HIRAGANA | S_KATAKANA,
        S_LATIN | S_HAN | S_BOPOMOFO,
        S_LATIN | S_HAN | S_HANGUL,
    };
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        if ((mask & ~sets[i]) == 0) {
            return true;
        }
    }
    return false;
}

static unsigned
script_bit(const uc_script_t *s)
{
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {
        {"Latin", S_LATIN},       {"Han", S_HAN},           {"Hiragana", S_HIRAGANA},
        {"Katakana", S_KATAKANA}, {"Bopomofo", S_BOPOMOFO}, {"Hangul", S_HANGUL},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(s->name, known[i].name) == 0) {
            return known[i].bit;
        }
    }
    return 1u << S_OTHER_SHIFT;
}

/* Every label of a valid U-label name (UTF-8) within one allowed set? */
static bool
labels_single_script(const char *unicode)
{
    const uint8_t *p = (const uint8_t *)unicode;
    size_t left = strlen(unicode);
    const uc_script_t *first_other = NULL;
    unsigned seen = 0, mask = 0;
    while (left > 0) {
        ucs4_t uc;
        int n = u8_mbtouc(&uc, p, left);
        if (n <= 0) {
            return false;
        }
        p += n;
        left -= (size_t)n;
        if (uc == '.') {
            if (!scripts_allowed(seen, mask)) {
                return false;
            }
            first_other = NULL;
            seen = mask = 0;
            continue;
        }
        const uc_script_t *s = uc_script(uc);
        if (s == NULL || strcmp(s->name, "Common") == 0 || strcmp(s->name, "Inherited") == 0) {
            continue;
        }
        unsigned bit = script_bit(s);
        if (bit == 1u << S_OTHER_SHIFT) {
            /* Any other script: allowed only alone, so one is enough to
             * remember; a second different one is already a mix. */
            if (first_other == NULL) {
                first_other = s;
                seen++;
            } else if (first_other != s) {
                return false;
            }
            mask |= bit;
            continue;
        }
        if ((mask & bit) == 0) {
            seen++;
            mask |= bit;
        }
    }
    return scripts_allowed(seen, mask);
}

enum idn_rc
idn_host_parse(const char *host, char **out_ascii, char **out_unicode)
{
    *out_ascii = NULL;
    *out_unicode = NULL;
    if (!needs_idna(host)) {
        return IDN_ASCII;
    }
    if (u8_check((const uint8_t *)host, strlen(host)) != NULL) {
        return IDN_ERR_INVALID;
    }
    /* UTS #46 non-transitional mapping (what browsers do: case folding,
     * full-width forms) then the IDNA2008 rules, A-labels included: each
     * "xn--" label must decode and encode back to itself. */
    uint8_t *ascii = NULL;
    if (idn2_lookup_u8((const uint8_t *)host, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
            IDN2_OK ||
        ascii == NULL) {
        idn2_free(ascii);
        return IDN_ERR_INVALID;
    }
    char *unicode = NULL;
    if (idn2_to_unicode_8z8z((const char *)ascii, &unicode, 0) != IDN2_OK || unicode == NULL) {
        idn2_free(ascii);
        idn2_free(unicode);
        return IDN_ERR_INVALID;
    }
    *out_ascii = xstrdup((const char *)ascii);
    *out_unicode = xstrdup(unicode);
    idn2_free(ascii);
    idn2_free(unicode);
    return labels_single_script(*out_unicode) ? IDN_OK : IDN_ERR_MIXED_SCRIPT;
}

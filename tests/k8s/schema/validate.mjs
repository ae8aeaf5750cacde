// Schema check of rendered Kubernetes manifests, offline (tests/k8s/run.sh):
//
//   scripts/k8s-posture.py --render DIR | python3 -c 'yaml -> json' \
//     | node tests/k8s/schema/validate.mjs LABEL
//
// reads a JSON array of objects on stdin and checks each one twice, with
// schemas from two npm packages pinned in package.json / package-lock.json
// (installed by scripts/install-deps.sh; no network at check time):
//
//   1. kubernetes-models: the OpenAPI schema of the object's apiVersion and
//      kind compiled to a validator -- types (an unquoted number where a
//      string goes, a string port), required fields, formats, enums;
//   2. @kubernetes/client-node's generated models (OpenAPI release-1.36):
//      every field name must exist in the type at its place, as the API
//      server's strict field validation (kubectl's default since 1.27)
//      demands, so a misspelt `readinesProbe` -- which the first check,
//      like a lenient apply, would silently drop -- fails here.
//
// An object whose apiVersion/kind neither package knows fails too: nothing
// passes unchecked. One line per problem, "LABEL: Kind/name: what"; exit 1
// on any, 0 after "LABEL: N objects valid".
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = path.join(here, 'node_modules/@kubernetes/client-node/dist/gen/models');
const label = process.argv[2] || 'stdin';

const objects = JSON.parse(fs.readFileSync(0, 'utf8'));
if (!Array.isArray(objects)) {
  console.log(`${label}: expected a JSON array of objects`);
  process.exit(2);
}

// ---- 1. kubernetes-models (types, required, formats) -------------------
async function modelClass(apiVersion, kind) {
  try {
    const mod = await import(`kubernetes-models/${apiVersion}`);
    return mod[kind];
  } catch {
    return undefined;
  }
}

// ---- 2. field names from client-node's attribute maps -------------------
const attrCache = new Map();
async function attributes(typeName) {
  if (attrCache.has(typeName)) return attrCache.get(typeName);
  let attrs = null;
  const file = path.join(modelsDir, `${typeName}.js`);
  if (/^[A-Z]\w*$/.test(typeName) && fs.existsSync(file)) {
    const mod = await import(pathToFileURL(file).href);
    const cls = mod[typeName];
    if (cls && Array.isArray(cls.attributeTypeMap)) {
      attrs = new Map(cls.attributeTypeMap.map((a) => [a.baseName, a.type]));
    }
  }
  attrCache.set(typeName, attrs);
  return attrs;
}

function topTypeName(apiVersion, kind) {
  const version = apiVersion.split('/').pop();
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : 'core';
  const v = version[0].toUpperCase() + version.slice(1);
  const g = group.split('.')[0];
  // The generator prefixes a kind that exists in several groups (Event).
  return [`${v}${kind}`, `${g[0].toUpperCase()}${g.slice(1)}${v}${kind}`];
}

async function unknownFields(value, typeName, where, out) {
  if (value === null || value === undefined) return;
  let m = /^Array<(.+)>$/.exec(typeName);
  if (m) {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i += 1) await unknownFields(value[i], m[1], `${where}[${i}]`, out);
    }
    return;
  }
  m = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (m) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) await unknownFields(v, m[1], `${where}.${k}`, out);
    }
    return;
  }
  const attrs = await attributes(typeName);
  if (!attrs || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [k, v] of Object.entries(value)) {
    if (!attrs.has(k)) {
      out.push(`${where ? `${where}.` : ''}${k}: unknown field (not in ${typeName})`);
    } else {
      await unknownFields(v, attrs.get(k), where ? `${where}.${k}` : k, out);
    }
  }
}

let bad = 0;
for (const obj of objects) {
  const kind = obj?.kind ?? '?';
  const apiVersion = obj?.apiVersion ?? '?';
  const name = `${kind}/${obj?.metadata?.name ?? '?'}`;
  const problems = [];
  const Cls = await modelClass(apiVersion, kind);
  if (!Cls) {
    problems.push(`no schema for apiVersion ${apiVersion} kind ${kind} in kubernetes-models`);
  } else {
    try {
      new Cls(obj).validate();
    } catch (e) {
      // ajv's text: "data/spec/replicas must be integer, data/... ..."
      for (const part of String(e.message).split(/, (?=data)/)) problems.push(part.replace(/^data\/?/, ''));
    }
  }
  let top = null;
  for (const t of topTypeName(apiVersion, kind)) {
    if (await attributes(t)) { top = t; break; }
  }
  if (!top) {
    problems.push(`no field list for apiVersion ${apiVersion} kind ${kind} in @kubernetes/client-node`);
  } else {
    await unknownFields(obj, top, '', problems);
  }
  for (const p of problems) console.log(`${label}: ${name}: ${p}`);
  if (problems.length) bad += 1;
}
if (bad) process.exit(1);
console.log(`${label}: ${objects.length} objects valid`);

// extract.js rebuilds provider schemas in the `terraform providers schema
// -json` format from unpacked @cdktf/provider-* npm packages. cdktf
// generated each package from the real provider schema; its TypeScript
// source (kept in every lib/<type>/index.js source map) still carries, per
// attribute, the generator's "computed/optional/required" comment, the
// getter that tells the type, and the HCL synthesis entry that tells block
// from attribute. Only the types named on the command line are kept.
//
// usage: node extract.js OUT.json [--deprecations FILE] PROVIDER=VERSION=PKGDIR... TYPE...
//   PROVIDER  registry address, e.g. registry.terraform.io/hashicorp/aws
//   VERSION   provider version the package was generated from
//   PKGDIR    the unpacked package (the folder holding lib/)
//   TYPE      resource.aws_lb or data.aws_region (repeatable)
//   FILE      attributes to mark deprecated (deprecations.json), which
//             cdktf cannot tell
'use strict';
const fs = require('fs');
const path = require('path');

// tsSource returns the TypeScript source embedded in index.js's source map.
function tsSource(file) {
  const js = fs.readFileSync(file, 'utf8');
  const m = js.match(/sourceMappingURL=data:application\/json;base64,(\S+)\s*$/m);
  if (!m) throw new Error(`${file}: no inline source map`);
  const map = JSON.parse(Buffer.from(m[1], 'base64').toString('utf8'));
  if (!map.sourcesContent || !map.sourcesContent[0]) throw new Error(`${file}: source map has no sources`);
  return map.sourcesContent[0];
}

// declarations splits a TS file into its top-level exported declarations.
function declarations(src) {
  const out = new Map();
  const re = /^export (?:declare )?(interface|class|function) (\w+)/gm;
  const starts = [];
  let m;
  while ((m = re.exec(src)) !== null) starts.push({ kind: m[1], name: m[2], at: m.index });
  starts.forEach((s, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].at : src.length;
    out.set(s.name, { kind: s.kind, text: src.slice(s.at, end) });
  });
  return out;
}

const commentRe = /^\s*\/\/ ([a-z0-9_]+) - computed: (true|false), optional: (true|false), required: (true|false)\s*$/;

// members lists the attributes of a generated class, in order, each with its
// flags and the source text up to the next member (getter, setter, field).
function members(classText) {
  const lines = classText.split('\n');
  const out = [];
  let cur = null;
  for (const line of lines) {
    const m = line.match(commentRe);
    if (m) {
      cur = { name: m[1], computed: m[2] === 'true', optional: m[3] === 'true', required: m[4] === 'true', text: '' };
      out.push(cur);
    } else if (cur) {
      cur.text += line + '\n';
    }
  }
  return out;
}

// configProps maps terraform names to the TypeScript type of a config
// interface's properties (the doc link before each ends in #tf_name).
function configProps(ifaceText) {
  const out = new Map();
  let name = null;
  for (const line of (ifaceText || '').split('\n')) {
    const d = line.match(/\{@link \S+#([a-z0-9_]+) \w+#[a-z0-9_]+\}/);
    if (d) name = d[1];
    const p = line.match(/^\s*readonly \w+(\??): (.+);\s*$/);
    if (p && name) {
      out.set(name, { type: p[2], optional: p[1] === '?' });
      name = null;
    }
  }
  return out;
}

// hclEntries maps terraform names to {isBlock, type, storage} from a
// synthesizeHclAttributes method or a *ToHclTerraform function.
function hclEntries(text) {
  const out = new Map();
  const re = /(\w+): \{\s*value: [^\n]*\n\s*isBlock: (true|false),\s*type: "(\w+)",\s*storageClassType: "(\w+)",/g;
  let m;
  while ((m = re.exec(text || '')) !== null) out.set(m[1], { isBlock: m[2] === 'true', type: m[3], storage: m[4] });
  return out;
}

function lowerFirst(s) { return s.charAt(0).toLowerCase() + s.slice(1); }

// scalarType reads a member's type from its getter (or, for provider
// classes, from its private field's TypeScript type).
function scalarType(text) {
  const getters = [
    [/cdktf\.Fn\.tolist\(this\.getListAttribute\(/, ['set', 'string']],
    [/cdktf\.Fn\.tolist\(this\.getNumberListAttribute\(/, ['set', 'number']],
    [/this\.getStringAttribute\(/, 'string'],
    [/this\.getNumberAttribute\(/, 'number'],
    [/this\.getBooleanAttribute\(/, 'bool'],
    [/this\.getListAttribute\(/, ['list', 'string']],
    [/this\.getNumberListAttribute\(/, ['list', 'number']],
    [/this\.getStringMapAttribute\(|new cdktf\.StringMap\(/, ['map', 'string']],
    [/this\.getNumberMapAttribute\(|new cdktf\.NumberMap\(/, ['map', 'number']],
    [/this\.getBooleanMapAttribute\(|new cdktf\.BooleanMap\(/, ['map', 'bool']],
    [/this\.getAnyMapAttribute\(|new cdktf\.AnyMap\(/, ['map', 'dynamic']],
    [/this\.interpolationForAttribute\(/, 'dynamic'],
  ];
  for (const [re, t] of getters) if (re.test(text)) return t;
  const field = text.match(/private _\w+\?: ([^;=]+);/);
  if (field) {
    const ts = field[1].replace(/ \| cdktf\.IResolvable/g, '').trim();
    const prim = { string: 'string', number: 'number', boolean: 'bool' };
    if (prim[ts]) return prim[ts];
    if (ts === 'string[]') return ['list', 'string'];
    if (ts === 'number[]') return ['list', 'number'];
    if (ts === '{ [key: string]: string }') return ['map', 'string'];
  }
  return null;
}

// structRef finds a nested struct behind a member: name and collection.
function structRef(text) {
  let m = text.match(/new (\w+)OutputReference\(this, "[a-z0-9_]+"\)/);
  if (m) return { struct: m[1], coll: 'single' };
  m = text.match(/new (\w+)List\(this, "[a-z0-9_]+", (true|false)\)/);
  if (m) return { struct: m[1], coll: m[2] === 'true' ? 'set' : 'list' };
  m = text.match(/new (\w+)Map\(this, "[a-z0-9_]+"\)/);
  if (m && !m[1].startsWith('cdktf')) return { struct: m[1], coll: 'map' };
  m = text.match(/private _\w+\?: (\w+)\[\] \| cdktf\.IResolvable;/); // provider blocks
  if (m) return { struct: m[1], coll: 'list' };
  return null;
}

class Extractor {
  constructor(src, where) {
    this.decls = declarations(src);
    this.where = where;
  }

  decl(name) {
    const d = this.decls.get(name);
    return d ? d.text : null;
  }

  // block builds the schema block of a class (a resource, data source,
  // provider, or a nested struct's OutputReference class).
  block(classText, config, hcl, inSet) {
    const block = { attributes: {}, block_types: {} };
    for (const m of members(classText)) {
      const ref = structRef(m.text);
      const entry = hcl.get(m.name);
      const prop = config.get(m.name);
      if (ref && entry && entry.isBlock) {
        const nestedSet = ref.coll === 'set' || entry.type === 'set';
        const bt = {
          nesting_mode: nestedSet ? 'set' : 'list',
          block: this.struct(ref.struct, nestedSet || inSet),
        };
        if (m.required) bt.min_items = 1;
        if (prop && !/\[\]/.test(prop.type)) bt.max_items = 1;
        block.block_types[m.name] = bt;
        continue;
      }
      let type;
      if (ref) {
        type = this.objectType(ref, inSet);
      } else {
        type = scalarType(m.text);
        if (type === null) throw new Error(`${this.where}: cannot tell the type of ${m.name}`);
      }
      if (inSet) type = noDynamic(type);
      const attr = { type };
      if (m.required) attr.required = true;
      else {
        if (m.optional || !m.computed) attr.optional = true;
        if (m.computed) attr.computed = true;
      }
      block.attributes[m.name] = attr;
    }
    return block;
  }

  struct(name, inSet) {
    let cls = this.decl(name + 'OutputReference');
    if (!cls) cls = this.pseudoClass(name);
    return this.block(cls, configProps(this.decl(name)), hclEntries(this.decl(lowerFirst(name) + 'ToHclTerraform')), inSet);
  }

  // pseudoClass stands in for the OutputReference class that provider
  // config structs lack: one member per interface property, all optional
  // unless the property is, with the TypeScript type as a private field.
  pseudoClass(name) {
    const iface = this.decl(name);
    if (!iface) throw new Error(`${this.where}: no class ${name}OutputReference and no interface ${name}`);
    let text = '';
    for (const [tf, p] of configProps(iface)) {
      text += `  // ${tf} - computed: false, optional: ${p.optional}, required: ${!p.optional}\n`;
      text += `  private _x?: ${p.type};\n`;
    }
    return text;
  }

  // objectType is the attribute type of a struct that is not a block
  // (computed-only nested values).
  objectType(ref, inSet) {
    const b = this.struct(ref.struct, inSet || ref.coll === 'set');
    const attrs = {};
    for (const [n, a] of Object.entries(b.attributes)) attrs[n] = a.type;
    for (const [n, bt] of Object.entries(b.block_types)) attrs[n] = [bt.nesting_mode, ['object', objectOf(bt.block)]];
    const obj = ['object', attrs];
    return ref.coll === 'single' ? ['list', obj] : [ref.coll, obj];
  }

  top(className) {
    const cls = this.decl(className);
    if (!cls) throw new Error(`${this.where}: no class ${className}`);
    const body = cls.slice(cls.indexOf('synthesizeHclAttributes'));
    return this.block(cls, configProps(this.decl(className + 'Config')), hclEntries(body), false);
  }
}

function objectOf(block) {
  const attrs = {};
  for (const [n, a] of Object.entries(block.attributes)) attrs[n] = a.type;
  for (const [n, bt] of Object.entries(block.block_types)) attrs[n] = [bt.nesting_mode, ['object', objectOf(bt.block)]];
  return attrs;
}

// noDynamic: Terraform refuses DynamicPseudoType inside set blocks.
function noDynamic(t) {
  if (t === 'dynamic') return 'string';
  if (Array.isArray(t) && t[0] === 'object') {
    const o = {};
    for (const [k, v] of Object.entries(t[1])) o[k] = noDynamic(v);
    return ['object', o];
  }
  if (Array.isArray(t)) return [t[0], noDynamic(t[1])];
  return t;
}

// findType locates the lib/ folder whose class declares the terraform type.
function findType(pkgDir, kind, tfType) {
  const lib = path.join(pkgDir, 'lib');
  const base = kind === 'data' ? 'TerraformDataSource' : 'TerraformResource';
  for (const dir of fs.readdirSync(lib).sort()) {
    const file = path.join(lib, dir, 'index.js');
    if (!fs.existsSync(file)) continue;
    const js = fs.readFileSync(file, 'utf8');
    if (!js.includes(`tfResourceType = "${tfType}"`)) continue;
    const src = tsSource(file);
    const m = src.match(new RegExp(`export class (\\w+) extends cdktf\\.${base} \\{[\\s\\S]*?tfResourceType = "${tfType}"`));
    if (m) return { src, className: m[1], where: `${dir}/index.js` };
  }
  throw new Error(`${pkgDir}: no ${kind} ${tfType}`);
}

function providerBlock(pkgDir) {
  const file = path.join(pkgDir, 'lib', 'provider', 'index.js');
  const src = tsSource(file);
  const m = src.match(/export class (\w+) extends cdktf\.TerraformProvider/);
  if (!m) throw new Error(`${file}: no provider class`);
  return new Extractor(src, 'provider/index.js').top(m[1]);
}

// markDeprecated flags the attributes a deprecations file lists; an entry
// the schema lacks is an error, so the file cannot go stale silently.
function markDeprecated(result, file) {
  const dep = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const [addr, kinds] of Object.entries(dep)) {
    if (addr.startsWith('_')) continue;
    for (const [kind, types] of Object.entries(kinds)) {
      for (const [t, attrs] of Object.entries(types)) {
        const s = ((result.provider_schemas[addr] || {})[kind] || {})[t];
        if (!s) throw new Error(`${file}: ${addr} ${kind} ${t} is not in the schema`);
        for (const a of attrs) {
          if (!s.block.attributes[a]) throw new Error(`${file}: ${t} has no attribute ${a}`);
          s.block.attributes[a].deprecated = true;
        }
      }
    }
  }
}

function main(argv) {
  const [out, ...rest] = argv;
  let deprecations = null;
  const args = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--deprecations') deprecations = rest[++i];
    else args.push(rest[i]);
  }
  const providers = [];
  const types = [];
  for (const a of args) {
    if (a.includes('=')) {
      const [addr, version, dir] = a.split('=');
      providers.push({ addr, version, dir, name: addr.split('/').pop() });
    } else {
      types.push(a);
    }
  }
  const result = { format_version: '1.0', provider_versions: {}, provider_schemas: {} };
  for (const p of providers) {
    const ps = { provider: { version: 0, block: providerBlock(p.dir) }, resource_schemas: {}, data_source_schemas: {} };
    for (const t of types) {
      const [kind, tfType] = t.split('.');
      if (!tfType.startsWith(p.name + '_')) continue;
      const found = findType(p.dir, kind, tfType);
      const block = new Extractor(found.src, found.where).top(found.className);
      ps[kind === 'data' ? 'data_source_schemas' : 'resource_schemas'][tfType] = { version: 0, block };
    }
    result.provider_versions[p.addr] = p.version;
    result.provider_schemas[p.addr] = ps;
  }
  for (const t of types) {
    const [kind, tfType] = t.split('.');
    const hit = Object.values(result.provider_schemas).some((ps) => (ps[kind === 'data' ? 'data_source_schemas' : 'resource_schemas'] || {})[tfType]);
    if (!hit) throw new Error(`no provider package for ${t}`);
  }
  if (deprecations) markDeprecated(result, deprecations);
  fs.writeFileSync(out, JSON.stringify(sortKeys(result), null, 1) + '\n');
}

// sortKeys makes the output stable, so a regeneration diff shows only real
// schema changes.
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]);
    return o;
  }
  return v;
}

main(process.argv.slice(2));

/**
 * boundaries/imports: which folder of src/ may import which (the table is in eslint.config.mjs and
 * described in docs/development.md, "Architecture").
 *
 * Every module specifier of a file of src/ is checked: static imports, `export ... from`, `import()`,
 * `require()`, `import x = require()` and type-level `import('...')`. A path (starting with `.` or `/`)
 * is resolved against the importing file's folder, so `./../x`, `.//x` and `../a/../a/b` are judged by
 * where they land (a file: URL too). Options (one object):
 *   root      the absolute path of src/
 *   folders   { '<folder of src/>': { imports: ['<folder>', ...], pure?: true, slice?: true } };
 *             a file belongs to the longest folder that contains it ('call/flow' before 'call')
 *   libraries { '<package>': '<the only folder that may import it>' }
 */
import { builtinModules } from 'node:module';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, '')));

/** The folder of the table that holds `path` (relative to src/, with '/'), or undefined. */
function folderOf(path, folders) {
  return Object.keys(folders)
    .filter((f) => path === f || path.startsWith(`${f}/`))
    .sort((a, b) => b.length - a.length)[0];
}

/** The slice a folder is part of ('call' for 'call/flow'), or undefined. */
function sliceOf(folder, folders) {
  const top = folder.split('/')[0];
  return folders[top]?.slice ? top : undefined;
}

/** The path of a file: URL ('file:' alone when it has none, which is then refused as a URL). */
function filePath(url) {
  try {
    return fileURLToPath(url);
  } catch {
    return 'file:';
  }
}

/** Why `given`, imported by a file of `from` at `file`, is refused; undefined when it is permitted. */
function verdict(given, file, from, { root, folders, libraries }) {
  const rule = folders[from];
  const may = rule.imports.length > 0 ? `only ${rule.imports.join(', ')}` : 'no other folder';
  if (given.includes('\\')) return `'${given}': module paths are written with '/'.`;
  const spec = given.startsWith('file:') ? filePath(given) : given;
  if (/^[a-z][a-z0-9+.-]+:/i.test(spec) && !spec.startsWith('node:')) return `'${spec}': src/ imports no URL.`;
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const target = relative(root, resolve(dirname(file), spec)).split(sep).join('/');
    if (target.startsWith('..') || isAbsolute(target)) return `'${spec}' is outside src/; src/ imports its own folders and packages only.`;
    const to = folderOf(target, folders);
    if (to === undefined) return `'${spec}' is src/${target}, which is in no folder of the boundary table.`;
    if (to === from) return undefined;
    const slice = sliceOf(to, folders);
    if (slice && slice !== sliceOf(from, folders) && !/^[^/]+(\/index(\.[cm]?[jt]s)?)?$/.test(target)) {
      return `'${spec}' is inside the slice ${slice}/; other folders import it through its index only ('../${slice}').`;
    }
    if (!rule.imports.includes(to)) return `src/${from}/ may import ${may} of src/; '${spec}' is src/${to}/.`;
    return undefined;
  }
  const bare = spec.replace(/^node:/, '');
  const name = bare.startsWith('@') ? bare.split('/').slice(0, 2).join('/') : bare.split('/')[0];
  if (spec.startsWith('node:') || BUILTINS.has(name)) {
    return rule.pure ? `src/${from}/ is pure: it imports no module of Node ('${spec}').` : undefined;
  }
  if (rule.pure) return `src/${from}/ is pure: it imports no package ('${spec}').`;
  const owner = libraries[name];
  if (owner && owner !== from) return `${name} is used through src/${owner}/ only.`;
  return undefined;
}

/** The string of a module-specifier node (a literal or a template without expressions), or undefined. */
function text(node) {
  if (node?.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node?.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0].value.cooked;
  return undefined;
}

const imports = {
  meta: {
    type: 'problem',
    docs: { description: 'Folders of src/ import only the folders their allow-list names' },
    schema: [{ type: 'object', properties: { root: { type: 'string' }, folders: { type: 'object' }, libraries: { type: 'object' } }, required: ['root', 'folders'], additionalProperties: false }],
  },
  create(context) {
    const options = { libraries: {}, ...context.options[0] };
    const file = context.filename;
    const inSrc = relative(options.root, file).split(sep).join('/');
    if (inSrc.startsWith('..') || isAbsolute(inSrc)) return {};
    const from = folderOf(inSrc, options.folders);
    if (from === undefined) {
      return { Program: (node) => context.report({ node, message: `src/${inSrc} is in no folder of the boundary table (eslint.config.mjs).` }) };
    }
    const check = (node) => {
      const spec = text(node);
      if (spec === undefined) {
        context.report({ node, message: 'A module path computed at run time cannot be checked against the boundaries; write it as a string.' });
        return;
      }
      const why = verdict(spec, file, from, options);
      if (why) context.report({ node, message: why });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => node.source && check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      TSExternalModuleReference: (node) => check(node.expression),
      TSImportType: (node) => check(node.source ?? node.argument?.literal),
      CallExpression: (node) => {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length > 0) check(node.arguments[0]);
      },
    };
  },
};

export default { rules: { imports } };

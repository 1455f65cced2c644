/**
 * Docker Compose variable substitution, as much of it as docker-compose.yml uses: `${NAME}`, `${NAME:-default}` and
 * `${NAME:?error}`, where the default may itself hold a substitution. Empty counts as unset for `:-` and `:?`, as in
 * compose. Throws where compose would refuse to start.
 */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start < 0) return out + text.slice(i);
    out += text.slice(i, start);
    const end = matchingBrace(text, start + 2);
    out += substitute(text.slice(start + 2, end), vars);
    i = end + 1;
  }
  return out;
}

function matchingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text.startsWith('${', i)) {
      depth += 1;
      i += 1;
    } else if (text[i] === '}' && --depth === 0) return i;
  }
  throw new Error(`unclosed \${ in ${text}`);
}

function substitute(expr: string, vars: Readonly<Record<string, string>>): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([\s\S]*))?$/.exec(expr);
  if (!m) throw new Error(`unsupported substitution \${${expr}}`);
  const [, name, op, rest = ''] = m;
  const value = vars[name!];
  if (value !== undefined && value !== '') return value;
  if (op === ':-') return interpolate(rest, vars);
  if (op === ':?') throw new Error(`compose refuses to start: ${name} (${rest})`);
  return '';
}

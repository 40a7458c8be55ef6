/**
 * What every `--json` answer must be for a script (docs/cli.md, "JSON output"): stdout is one
 * JSON document and nothing else; no Node Buffer (`{"type":"Buffer","data":[…]}`), no typed
 * array as an object (`{"0":48,…}`), no number array standing for bytes; dates as ISO 8601; PEM
 * fields are PEM. Returns the parsed document; throws naming the path of the first problem.
 */
export function assertScriptJson(stdout: string, what = 'stdout'): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (err) {
    throw new Error(`${what} is not one JSON document (${(err as Error).message}):\n${stdout.slice(0, 400)}`, { cause: err });
  }
  const fail = (path: string, why: string) => {
    throw new Error(`${what} at ${path || '(root)'}: ${why}`);
  };
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      if (value.length > 16 && value.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) fail(path, 'bytes as an array of numbers');
      value.forEach((v, i) => visit(v, `${path}[${i}]`));
      return;
    }
    if (value && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj);
      if (obj.type === 'Buffer' && Array.isArray(obj.data)) fail(path, 'a Node Buffer');
      if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) fail(path, 'a typed array as an object');
      for (const k of keys) visit(obj[k], path ? `${path}.${k}` : k);
      return;
    }
    if (typeof value === 'string') {
      const key = path.split('.').pop() ?? '';
      if (/^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{4} /.test(value)) fail(path, `a date not in ISO 8601: ${value}`);
      if (/(At|Before|After|Date|Update)$/.test(key) && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(value)) fail(path, `a date not in ISO 8601: ${value}`);
      if (/Pem$/.test(key) || key === 'pem') {
        if (!/^-----BEGIN [A-Z0-9 ]+-----\n[A-Za-z0-9+/=\n]+-----END [A-Z0-9 ]+-----\n?$/.test(value)) fail(path, 'not a PEM block');
      }
      if (/DerBase64$|^derBase64$/.test(key) && !/^[A-Za-z0-9+/]+=*$/.test(value)) fail(path, 'not base64');
    }
  };
  visit(parsed, '');
  return parsed;
}

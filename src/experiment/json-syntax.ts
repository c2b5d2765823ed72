/**
 * Where a JSON text first breaks, as line and column. V8's JSON.parse names a
 * position only for some errors ("Unexpected end of JSON input" has none), so
 * a small scanner walks the grammar and stops at the first offending
 * character; it only locates errors, JSON.parse still does the parsing.
 */

export interface SyntaxProblem {
  line: number;
  column: number;
  message: string;
}

class Located extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

function scan(text: string): void {
  let i = 0;
  const fail = (message: string): never => {
    throw new Located(i, i >= text.length ? 'unexpected end of file' : message);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const expect = (ch: string, what: string): void => {
    if (text[i] !== ch) fail(`expected ${what}, found ${JSON.stringify(text[i])}`);
    i++;
  };
  const string = (): void => {
    expect('"', 'a double-quoted string');
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail('control character in a string (newlines must be written \\n)');
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('bad \\u escape');
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail('bad escape in a string');
      }
      i++;
    }
    expect('"', 'the closing quote of a string');
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail(`unexpected ${JSON.stringify(text[i])}`);
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma before }' : `expected a double-quoted field name, found ${JSON.stringify(text[i])}`);
        string();
        ws();
        expect(':', '":" after a field name');
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect('}', '"," or "}"');
        return;
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('trailing comma before ]');
          continue;
        }
        expect(']', '"," or "]"');
        return;
      }
    }
    if (ch === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    number();
  };
  value();
  ws();
  if (i < text.length) fail(`unexpected ${JSON.stringify(text[i])} after the end of the document`);
}

/** The first syntax error of `text` with its 1-based line and column, or null when the text is valid JSON. */
export function locateJsonError(text: string): SyntaxProblem | null {
  try {
    scan(text);
    return null;
  } catch (err) {
    if (!(err instanceof Located)) throw err;
    const before = text.slice(0, err.offset).split('\n');
    return { line: before.length, column: before[before.length - 1].length + 1, message: err.message };
  }
}

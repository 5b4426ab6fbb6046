/**
 * The token reader under the text format parser. It walks the decoded body one character at a
 * time with the same notion of "current character" as upstream's byte reader, so tokens end,
 * and errors arise, exactly where they do upstream. Reaching the end of the body anywhere but
 * at the start of a line is an error ("unexpected end of input stream").
 */

import { BadRequestError, ErrorCode } from '../errors.js';
import { goCharOfByte, goQuote } from './go-quote.js';

export const NEWLINE = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
export const QUOTE = 0x22;
export const HASH = 0x23;
export const COMMA = 0x2c;
export const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;

export const isBlank = (c: number): boolean => c === SPACE || c === TAB;

/** Characters that may continue an unquoted name; `"` also continues one (it opens a quote). */
function isNameChar(c: number, allowColon: boolean): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x5f ||
    (allowColon && c === 0x3a)
  );
}

function isNameStart(c: number, allowColon: boolean): boolean {
  return c === QUOTE || (isNameChar(c, allowColon) && !(c >= 0x30 && c <= 0x39));
}

export class TextScanner {
  /** Index of the current character; -1 before the first one. */
  pos = -1;
  /** The current character code (valid once pos >= 0). */
  ch = NEWLINE;
  /** 1-based number of the line being read. */
  line = 0;
  private readonly n: number;

  constructor(readonly src: string) {
    this.n = src.length;
  }

  error(message: string): BadRequestError {
    return new BadRequestError(ErrorCode.badBody, `text format parsing error in line ${this.line}: ${message}`);
  }

  private eof(): BadRequestError {
    this.pos = this.n;
    return this.error('unexpected end of input stream');
  }

  /** Starts the next line: skips blanks; false at the (legitimate) end of the body. */
  startLine(): boolean {
    this.line++;
    const { src, n } = this;
    let p = this.pos;
    let c: number;
    do {
      p++;
      if (p >= n) {
        this.pos = n;
        return false;
      }
      c = src.charCodeAt(p);
    } while (c === SPACE || c === TAB);
    this.pos = p;
    this.ch = c;
    return true;
  }

  /** Reads the next character. */
  advance(): number {
    const p = ++this.pos;
    if (p >= this.n) throw this.eof();
    return (this.ch = this.src.charCodeAt(p));
  }

  /** Reads past blanks, starting with the next character; returns the first non-blank. */
  skipBlankTab(): number {
    const { src, n } = this;
    let p = this.pos;
    let c: number;
    do {
      p++;
      if (p >= n) throw this.eof();
      c = src.charCodeAt(p);
    } while (c === SPACE || c === TAB);
    this.pos = p;
    return (this.ch = c);
  }

  /** skipBlankTab, but only when the current character is a blank. */
  skipBlankTabIfBlank(): void {
    if (isBlank(this.ch)) this.skipBlankTab();
  }

  /** The token from the current character up to a blank or newline (left current). */
  readTokenUntilWhitespace(): string {
    const { src, n } = this;
    const start = this.pos;
    let p = start;
    let c = this.ch;
    while (c !== SPACE && c !== TAB && c !== NEWLINE) {
      p++;
      if (p >= n) throw this.eof();
      c = src.charCodeAt(p);
    }
    this.pos = p;
    this.ch = c;
    return src.slice(start, p);
  }

  /** Moves to the end of the line (the newline becomes current). */
  skipToNewline(): void {
    const end = this.src.indexOf('\n', this.pos);
    if (end < 0) throw this.eof();
    this.pos = end;
    this.ch = NEWLINE;
  }

  /**
   * The rest of the line from the current character. With escapes (HELP text), `\\`, `\n` and
   * `\"` are decoded and any other backslash sequence is an error; without (TYPE text, text
   * after a timestamp), backslashes are dropped, as upstream's reader does.
   */
  readRestOfLine(escapes: boolean): string {
    const { src } = this;
    const start = this.pos;
    const end = src.indexOf('\n', start);
    const limit = end < 0 ? this.n : end;
    let text = src.slice(start, limit);
    if (text.includes('\\')) text = escapes ? this.unescape(start, limit, end >= 0) : text.replaceAll('\\', '');
    if (end < 0) throw this.eof();
    this.pos = end;
    this.ch = NEWLINE;
    return text;
  }

  private unescape(start: number, limit: number, newlineFollows: boolean): string {
    const { src } = this;
    let out = '';
    let from = start;
    for (let p = src.indexOf('\\', start); p >= 0 && p < limit; p = src.indexOf('\\', from)) {
      out += src.slice(from, p);
      if (p + 1 >= limit) {
        if (!newlineFollows) throw this.eof();
        this.pos = p + 1;
        throw this.error(`invalid escape sequence '\\${goCharOfByte(src, p + 1)}'`);
      }
      const decoded = decodeEscape(src.charCodeAt(p + 1));
      if (decoded === undefined) {
        this.pos = p + 1;
        throw this.error(`invalid escape sequence '\\${goCharOfByte(src, p + 1)}'`);
      }
      out += decoded;
      from = p + 2;
    }
    return out + src.slice(from, limit);
  }

  /**
   * A metric name (allowColon) or label name starting at the current character, which is left
   * on the first character after it. Returns '' without moving when the current character
   * cannot start a name. A `"` switches to a quoted part, with `\\`, `\n`, `\"` escapes.
   */
  readName(allowColon: boolean): string {
    const { src, n } = this;
    const c0 = this.ch;
    if (!isNameStart(c0, allowColon)) return '';
    if (c0 !== QUOTE) {
      const start = this.pos;
      let p = start;
      let c: number;
      do {
        p++;
        if (p >= n) throw this.eof();
        c = src.charCodeAt(p);
      } while (isNameChar(c, allowColon));
      this.pos = p;
      this.ch = c;
      if (c !== QUOTE) return src.slice(start, p);
      return this.readQuotedName(src.slice(start, p), allowColon);
    }
    return this.readQuotedName('', allowColon);
  }

  private readQuotedName(prefix: string, allowColon: boolean): string {
    const what = allowColon ? 'metric name' : 'label name';
    let token = prefix;
    let quoted = false;
    let escaped = false;
    for (;;) {
      const c = this.ch;
      if (escaped) {
        const decoded = decodeEscape(c);
        if (decoded === undefined) throw this.error(`invalid escape sequence '\\${goCharOfByte(this.src, this.pos)}'`);
        token += decoded;
        escaped = false;
      } else if (c === QUOTE) {
        quoted = !quoted;
        if (!quoted) {
          this.advance();
          return token;
        }
      } else if (c === NEWLINE) {
        throw this.error(`${what} ${goQuote(token)} contains unescaped new-line`);
      } else if (c === BACKSLASH) {
        escaped = true;
      } else {
        token += String.fromCharCode(c);
      }
      const next = this.advance();
      if (!quoted && !isNameChar(next, allowColon) && next !== QUOTE) return token;
    }
  }

  /** A label value; the current character is its opening quote and ends as its closing one. */
  readLabelValue(): string {
    const { src, n } = this;
    const start = this.pos + 1;
    for (let p = start; ; p++) {
      if (p >= n) throw this.eof();
      const c = src.charCodeAt(p);
      if (c === QUOTE) {
        this.pos = p;
        this.ch = c;
        return src.slice(start, p);
      }
      if (c === BACKSLASH) return this.readEscapedLabelValue(src.slice(start, p), p);
      if (c === NEWLINE) {
        this.pos = p;
        throw this.error(`label value ${goQuote(src.slice(start, p))} contains unescaped new-line`);
      }
    }
  }

  private readEscapedLabelValue(prefix: string, backslashAt: number): string {
    let token = prefix;
    this.pos = backslashAt;
    let escaped = true;
    for (;;) {
      const c = this.advance();
      if (escaped) {
        const decoded = decodeEscape(c);
        if (decoded === undefined) throw this.error(`invalid escape sequence '\\${goCharOfByte(this.src, this.pos)}'`);
        token += decoded;
        escaped = false;
      } else if (c === QUOTE) {
        return token;
      } else if (c === NEWLINE) {
        throw this.error(`label value ${goQuote(token)} contains unescaped new-line`);
      } else if (c === BACKSLASH) {
        escaped = true;
      } else {
        token += String.fromCharCode(c);
      }
    }
  }
}

/** The text-format escapes: `\\`, `\n` and `\"`. */
function decodeEscape(c: number): string | undefined {
  if (c === BACKSLASH) return '\\';
  if (c === 0x6e) return '\n';
  if (c === QUOTE) return '"';
  return undefined;
}

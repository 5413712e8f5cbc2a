/**
 * LDAP search filters, built only from ldapts' filter classes (values travel as BER octet strings, so nothing in
 * a value can change the filter's structure). `escapeFilterValue` exists for the rare text filter and for logs.
 */
import { AndFilter, EqualityFilter, type Filter, OrFilter } from 'ldapts';

/** RFC 4515 escaping of an assertion value: `*`, `(`, `)`, `\` and NUL as `\2a`, `\28`, `\29`, `\5c`, `\00`. */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '*':
        out += '\\2a';
        break;
      case '(':
        out += '\\28';
        break;
      case ')':
        out += '\\29';
        break;
      case '\\':
        out += '\\5c';
        break;
      case '\0':
        out += '\\00';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

export const eq = (attribute: string, value: string | Buffer): Filter => new EqualityFilter({ attribute, value });
export const or = (...filters: Filter[]): Filter => (filters.length === 1 ? filters[0]! : new OrFilter({ filters }));
export const and = (...filters: Filter[]): Filter => (filters.length === 1 ? filters[0]! : new AndFilter({ filters }));


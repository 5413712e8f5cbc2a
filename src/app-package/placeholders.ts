import { fillPlaceholders } from '../config/env-files';

/** What the manifest's `${{NAME}}` placeholders mean, with an example value for error messages. */
export interface PlaceholderInfo {
  readonly example: string;
  readonly meaning: string;
  /** A further hint for the missing-value message. */
  readonly hint?: string;
  /** An empty value is a valid choice (e.g. no name suffix in production) as long as the variable is set. */
  readonly mayBeEmpty?: boolean;
}

export const KNOWN_PLACEHOLDERS: Readonly<Record<string, PlaceholderInfo>> = {
  TEAMS_APP_ID: {
    example: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
    meaning: "the Teams app's id, a GUID you create once per environment (node -e \"console.log(crypto.randomUUID())\")",
  },
  BOT_ID: {
    example: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    meaning: 'the Microsoft App ID (client id) of the Entra app registration behind the Azure Bot resource',
    hint: 'Where the running bot must keep BOT_ID empty (the sandbox), set APP_PACKAGE_BOT_ID instead: it fills the manifest only.',
  },
  APP_NAME_SUFFIX: {
    example: '" (dev)"',
    meaning: 'text after "Mailroom" in the app name, so environments can be told apart; set it empty for production',
    mayBeEmpty: true,
  },
  BOT_DOMAIN: {
    example: 'mailroom-dev.contoso.com',
    meaning: 'the host name (no https://, no path) where the bot endpoint runs',
  },
  DEVELOPER_WEBSITE_URL: {
    example: 'https://intranet.contoso.com/it/mailroom',
    meaning: "the page Teams shows as the app's website (your helpdesk or intranet page)",
  },
  DEVELOPER_PRIVACY_URL: {
    example: 'https://intranet.contoso.com/it/mailroom/privacy',
    meaning: "the app's privacy statement",
  },
  DEVELOPER_TERMS_URL: {
    example: 'https://intranet.contoso.com/it/mailroom/terms',
    meaning: "the app's terms of use",
  },
};

/**
 * Prefix for values used only in the app package: `APP_PACKAGE_BOT_ID` fills `${{BOT_ID}}` in the manifest
 * without setting BOT_ID for the running bot. The sandbox needs this: its bot runs anonymously (no BOT_ID,
 * as the Agents Playground expects) while a manifest must still name a bot id.
 */
export const PACKAGE_ONLY_PREFIX = 'APP_PACKAGE_';

/** The values the manifest is filled from: `env`, with non-empty `APP_PACKAGE_<NAME>` values replacing `<NAME>`. */
export function manifestValues(env: Readonly<Record<string, string>>): Record<string, string> {
  const values: Record<string, string> = { ...env };
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith(PACKAGE_ONLY_PREFIX) && key.length > PACKAGE_ONLY_PREFIX.length && value !== '') {
      values[key.slice(PACKAGE_ONLY_PREFIX.length)] = value;
    }
  }
  return values;
}

/** Names whose values must never be printed (and never go into an app package). */
const SECRET_NAME_PATTERN = /SECRET|PASSWORD|KEY|TOKEN/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME_PATTERN.test(name);
}

/** `NAME=value` for display, with the value hidden when the name looks like a secret. */
export function describeValue(name: string, value: string | undefined): string {
  if (isSecretName(name)) return `${name}=<hidden>`;
  const text = value ?? '';
  return `${name}=${text === '' || text.trim() !== text || text.includes('#') ? JSON.stringify(text) : text}`;
}

export interface PlaceholderUse {
  readonly name: string;
  /** JSON Pointer of the string that contains the placeholder, e.g. `/bots/0/botId`. */
  readonly path: string;
}

export interface FilledJson {
  readonly value: unknown;
  readonly uses: PlaceholderUse[];
  /** Placeholders without a usable value, each with the JSON Pointers where it is used. */
  readonly missing: { name: string; paths: string[] }[];
}

const PLACEHOLDER = /\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

function pointerSegment(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Fill `${{NAME}}` placeholders inside every string of a parsed JSON document (keys included), so a value
 * with quotes or backslashes cannot break the JSON. Uses env-files' `fillPlaceholders` for the filling.
 */
export function fillJsonPlaceholders(document: unknown, values: Record<string, string>): FilledJson {
  const uses: PlaceholderUse[] = [];
  const missing = new Map<string, string[]>();

  const fillString = (text: string, path: string): string => {
    for (const match of text.matchAll(PLACEHOLDER)) uses.push({ name: match[1]!, path });
    const result = fillPlaceholders(text, values);
    for (const name of result.missing) {
      const allowedEmpty = KNOWN_PLACEHOLDERS[name]?.mayBeEmpty === true && Object.hasOwn(values, name);
      if (allowedEmpty) continue;
      missing.set(name, [...(missing.get(name) ?? []), path || '/']);
    }
    return result.text;
  };

  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') return fillString(node, path);
    if (Array.isArray(node)) return node.map((item: unknown, i) => walk(item, `${path}/${i}`));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) {
        const filledKey = fillString(key, path);
        out[filledKey] = walk(child, `${path}/${pointerSegment(filledKey)}`);
      }
      return out;
    }
    return node;
  };

  const value = walk(document, '');
  return { value, uses, missing: [...missing].map(([name, paths]) => ({ name, paths })) };
}

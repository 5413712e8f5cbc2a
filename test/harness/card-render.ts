/**
 * Renders Adaptive Card JSON the way a client does: the `adaptivecards` renderer (the one the Microsoft web
 * clients embed) in headless Chromium. One page serves every card: `render()` parses, renders and validates a
 * card and returns what the renderer complained about and what a person would see; `screenshot()` saves it.
 *
 * The page script is plain JavaScript kept in a string: functions handed to `page.evaluate` must not depend on
 * anything the TypeScript transpiler adds, and the project's type set has no DOM.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { projectRoot } from '../../src/paths';
import { launchBrowser, type Browser } from './browser';

export const CARD_SHOTS_DIR = path.join(projectRoot(), 'test-output', 'cards');

/** Teams refuses a message whose card payload is over 28 KB. */
export const TEAMS_CARD_LIMIT_BYTES = 28 * 1024;

/** Width of a card in a Teams chat on the desktop client (the card's own box). */
const CARD_WIDTH_PX = 500;

type Json = Record<string, unknown>;

/** Something the renderer reported while parsing (`parse`) or validating (`validate`) the card. */
export interface CardProblem {
  readonly phase: 'parse' | 'validate';
  readonly event: string;
  readonly message: string;
}

export interface SeenText {
  readonly kind: 'text';
  /** What a person reads (the rendered markdown's text). */
  readonly text: string;
  /** The TextBlock's text as sent: the markdown source. */
  readonly markdown: string;
  readonly color: string;
  readonly weight: string;
  readonly subtle: boolean;
}

export interface SeenInput {
  readonly kind: 'input';
  readonly type: string;
  readonly id: string;
  /** `label`; for a toggle without one, its `title` (the text beside the box). */
  readonly label: string;
  readonly hasLabel: boolean;
  readonly required: boolean;
  readonly errorMessage: string;
  /** What the control holds now (a choice set: the selected value; a toggle: valueOn or valueOff). */
  readonly value: string;
  /** What the control shows: a text box its text, a choice set the selected choice's title, a toggle "on"/"off". */
  readonly shown: string;
  readonly choiceCount: number;
}

export interface SeenFacts {
  readonly kind: 'facts';
  /** Title and value as a person reads them (rendered markdown). */
  readonly facts: readonly { readonly title: string; readonly value: string }[];
}

/** The visible body in reading order. */
export type SeenBlock = SeenText | SeenInput | SeenFacts;

export interface SeenAction {
  readonly type: string;
  readonly title: string;
  readonly verb: string | undefined;
  readonly data: unknown;
  readonly associatedInputs: string | undefined;
  readonly style: string;
}

export interface RenderedCard {
  readonly problems: readonly CardProblem[];
  /** The card as the renderer understood it (its `toJSON()`), to find properties it ignored. */
  readonly understood: Json;
  readonly blocks: readonly SeenBlock[];
  readonly actions: readonly SeenAction[];
  /** Titles of the buttons on screen. */
  readonly buttons: readonly string[];
  /** The target of every link on the card (markdown links, autolinks and web addresses the renderer linked). */
  readonly links: readonly string[];
  /** The rendered card's text as a person reads it. */
  readonly text: string;
  readonly heightPx: number;
}

/** What the host receives when a button is pressed. */
export interface ExecutedAction {
  readonly type: string;
  readonly verb: string | undefined;
  readonly data: Json;
}

interface PageHooks {
  mailroomCards: {
    render(card: Json): RenderedCard;
    executed(): ExecutedAction | null;
  };
}

const PAGE_SCRIPT = String.raw`
(() => {
  const AC = window.AdaptiveCards;
  const hostConfig = new AC.HostConfig({
    fontFamily: "'Segoe UI', 'DejaVu Sans', sans-serif",
    supportsInteractivity: true,
    actions: { maxActions: 6, actionsOrientation: 'horizontal', actionAlignment: 'left', buttonSpacing: 8, spacing: 'default' },
  });
  const escape = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  // Teams renders a CommonMark subset in TextBlocks and facts: backslash escapes, code spans, links and autolinks
  // (and bare web addresses), bold, italic, strikethrough, headings and bullets at the start of a line. This does
  // the same, so that a card shows here what it shows in Teams, markup a value smuggled in included.
  const held = [];
  const hold = (html) => { held.push(html); return String.fromCharCode(0xf000 + held.length - 1); };
  const HELD = /[\uf000-\uf8ff]/g;
  const restore = (s) => {
    for (let n = 0; n < 5 && /[\uf000-\uf8ff]/.test(s); n++) s = s.replace(HELD, (ch) => held[ch.charCodeAt(0) - 0xf000] ?? ch);
    return s;
  };
  const PUNCT = /[!-\/:-@\[-\x60{-~]/;
  function inline(src) {
    let s = '';
    for (let i = 0; i < src.length; i++) {
      const c = src[i];
      if (c === '\\' && i + 1 < src.length && PUNCT.test(src[i + 1])) { s += hold(escape(src[i + 1])); i++; continue; }
      if (c === '\x60') {
        const j = src.indexOf('\x60', i + 1);
        if (j > i + 1) { s += hold('<code>' + escape(src.slice(i + 1, j)) + '</code>'); i = j; continue; }
      }
      s += c;
    }
    s = s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});/g, (m) => hold(m));
    s = escape(s);
    const link = (href, text) => hold('<a href="' + href + '">' + text + '</a>');
    s = s.replace(/&lt;([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s&]*)&gt;/g, (m, u) => link(u, u));
    s = s.replace(/\[([^\]]*)\]\(([^()\s]*)\)/g, (m, t, u) => link(u, t));
    s = s.replace(/(^|[^\w\/])((?:https?:\/\/|www\.)[^\s<\uf000-\uf8ff]+)/g, (m, pre, u) => pre + link(u.startsWith('www.') ? 'http://' + u : u, u));
    s = s.replace(/\*\*(?=\S)([^*]*?\S)\*\*/g, '<strong>$1</strong>').replace(/__(?=\S)([^_]*?\S)__/g, '<strong>$1</strong>');
    s = s.replace(/\*(?=\S)([^*]*?\S)\*/g, '<em>$1</em>').replace(/(^|\W)_(?=\S)([^_]*?\S)_(?!\w)/g, '$1<em>$2</em>');
    s = s.replace(/~~(?=\S)([^~]*?\S)~~/g, '<del>$1</del>');
    return restore(s);
  }
  function markdown(text) {
    held.length = 0;
    return text.split(/\r\n|\r|\n/).map((line) => {
      let m = /^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$/.exec(line);
      if (m) return '<strong class="heading-' + m[1].length + '">' + inline(m[2]) + '</strong>';
      m = /^ {0,3}[-+*][ \t]+(.*)$/.exec(line);
      if (m) return '\u2022 ' + inline(m[1]);
      return inline(line);
    }).join('<br>');
  }
  AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = '<p>' + markdown(text) + '</p>';
    result.didProcess = true;
  };
  const enumName = (e, v, fallback) => (v === undefined || v === null ? fallback : (e[v] ?? String(v)));
  let executed = null;

  function seeInput(e) {
    const control = e.renderedInputControlElement;
    if (control) control.setAttribute('data-input-id', e.id ?? '');
    const type = e.getJsonTypeName();
    let shown = '';
    if (type === 'Input.ChoiceSet' && control) {
      const select = control.querySelector('select') ?? (control.tagName === 'SELECT' ? control : null);
      shown = select ? (select.selectedOptions[0]?.textContent ?? '') : String(e.value ?? '');
    } else if (type === 'Input.Toggle') {
      shown = e.value === e.valueOn ? 'on' : 'off';
    } else {
      shown = control && 'value' in control ? String(control.value) : '';
    }
    const label = e.label ?? (type === 'Input.Toggle' ? e.title : undefined);
    return {
      kind: 'input', type, id: e.id ?? '', label: label ?? '', hasLabel: !!e.label || (type === 'Input.Toggle' && !!e.title),
      required: !!e.isRequired, errorMessage: e.errorMessage ?? '', value: e.value === undefined || Number.isNaN(e.value) ? '' : String(e.value), shown,
      choiceCount: Array.isArray(e.choices) ? e.choices.length : 0,
    };
  }

  function walk(e, out) {
    if (!e || !e.isVisible) return;
    if (e instanceof AC.TextBlock) {
      const shown = e.renderedElement ? e.renderedElement.innerText : (e.text ?? '');
      out.push({ kind: 'text', text: shown, markdown: e.text ?? '', color: enumName(AC.TextColor, e.color, 'Default'), weight: enumName(AC.TextWeight, e.weight, 'Default'), subtle: !!e.isSubtle });
    } else if (e instanceof AC.Input) {
      out.push(seeInput(e));
    } else if (e instanceof AC.FactSet) {
      const rows = e.renderedElement ? [...e.renderedElement.querySelectorAll('tr')] : [];
      const cell = (i, css, fallback) => { const td = rows[i] && rows[i].querySelector('td[class*="' + css + '"]'); return td ? td.innerText : fallback; };
      out.push({ kind: 'facts', facts: e.facts.map((f, i) => ({ title: cell(i, 'ac-fact-title', f.name ?? ''), value: cell(i, 'ac-fact-value', f.value ?? '') })) });
    }
    if (typeof e.getItemCount === 'function') for (let i = 0; i < e.getItemCount(); i++) walk(e.getItemAt(i), out);
  }

  function render(json) {
    const problems = [];
    const card = new AC.AdaptiveCard();
    card.hostConfig = hostConfig;
    const context = new AC.SerializationContext();
    card.parse(json, context);
    for (let i = 0; i < context.eventCount; i++) {
      const ev = context.getEventAt(i);
      problems.push({ phase: 'parse', event: enumName(AC.ValidationEvent, ev.event, '?'), message: ev.message });
    }
    executed = null;
    card.onExecuteAction = (a) => { executed = { type: a.getJsonTypeName(), verb: a.verb, data: a.data ?? {} }; };
    const host = document.getElementById('card');
    host.replaceChildren();
    const el = card.render();
    if (el) host.appendChild(el);
    else problems.push({ phase: 'parse', event: 'Other', message: 'the card rendered to nothing' });
    for (const ev of card.validateProperties().validationEvents) {
      problems.push({ phase: 'validate', event: enumName(AC.ValidationEvent, ev.event, '?'), message: ev.message });
    }
    const blocks = [];
    walk(card, blocks);
    // getAllActions() lists an ActionSet's actions once per enclosing container: keep each action once.
    const actions = [...new Set(card.getAllActions())].map((a) => ({
      type: a.getJsonTypeName(), title: a.title ?? '', verb: a.verb, data: a.data, associatedInputs: a.associatedInputs, style: a.style ?? 'default',
    }));
    return {
      problems, understood: card.toJSON(), blocks, actions,
      buttons: [...host.querySelectorAll('button')].map((b) => (b.textContent ?? '').trim()),
      links: [...host.querySelectorAll('a')].map((a) => a.getAttribute('href') ?? ''),
      text: host.innerText, heightPx: host.getBoundingClientRect().height,
    };
  }

  window.mailroomCards = { render, executed: () => executed };
})();
`;

const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:0;padding:16px;background:#f5f5f5;font-family:'Segoe UI','DejaVu Sans',sans-serif">
<div id="card" style="width:${CARD_WIDTH_PX}px;background:#fff;border:1px solid #e0e0e0;border-radius:6px;overflow:hidden"></div>
</body></html>`;

/** One Chromium page with the renderer loaded; render cards one after another. */
export class CardPage {
  private constructor(
    private readonly browser: Browser,
    readonly page: Page,
  ) {}

  static async open(): Promise<CardPage> {
    const browser = await launchBrowser();
    try {
      const page = browser.context.pages()[0] ?? (await browser.context.newPage());
      await page.setViewportSize({ width: CARD_WIDTH_PX + 64, height: 800 });
      await page.setContent(PAGE_HTML);
      const dist = path.join(path.dirname(require.resolve('adaptivecards/package.json')), 'dist');
      await page.addStyleTag({ path: path.join(dist, 'adaptivecards.css') });
      await page.addScriptTag({ path: path.join(dist, 'adaptivecards.min.js') });
      await page.addScriptTag({ content: PAGE_SCRIPT });
      return new CardPage(browser, page);
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  async render(card: Json): Promise<RenderedCard> {
    return this.page.evaluate((c) => (globalThis as unknown as PageHooks).mailroomCards.render(c), card);
  }

  /** Screenshot of the card last rendered, to `test-output/cards/<name>.png`. */
  async screenshot(name: string): Promise<string> {
    mkdirSync(CARD_SHOTS_DIR, { recursive: true });
    const file = path.join(CARD_SHOTS_DIR, `${name}.png`);
    await this.page.locator('#card').screenshot({ path: file, animations: 'disabled' });
    return file;
  }

  /**
   * Types into inputs of the card last rendered (by input id), presses the `nth` button with this title and
   * returns what the host got (null: nothing, e.g. because a required input is empty).
   */
  async press(buttonTitle: string, typed: Record<string, string> = {}, nth = 0): Promise<ExecutedAction | null> {
    for (const [id, text] of Object.entries(typed)) await this.page.locator(`#card [data-input-id="${id}"]`).fill(text);
    await this.page.locator('#card button', { hasText: buttonTitle }).nth(nth).click();
    return this.page.evaluate(() => (globalThis as unknown as PageHooks).mailroomCards.executed());
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Checks on the card JSON itself (no browser)
// ---------------------------------------------------------------------------------------------

/** Size in bytes of the card as it goes over the wire (compact JSON, UTF-8). */
export function cardBytes(card: unknown): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}

function visit(node: unknown, at: string, fn: (value: unknown, at: string) => void): void {
  fn(node, at);
  if (Array.isArray(node)) node.forEach((v, i) => visit(v, `${at}[${i}]`, fn));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) visit(v, `${at}.${k}`, fn);
}

/** Every place where a template binding (`${…}`) or templating keyword (`$data`, `$when`) survived expansion. */
export function unresolvedBindings(card: unknown): string[] {
  const found: string[] = [];
  visit(card, '$', (v, at) => {
    if (typeof v === 'string' && v.includes('${')) found.push(`${at}: ${JSON.stringify(v)}`);
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const k of Object.keys(v)) if (k === '$data' || k === '$when' || k.includes('${')) found.push(`${at}.${k}`);
  });
  return found;
}

/** Host requirements the renderer does not check: version 1.5, verbs and data on Action.Execute, ids and labels on inputs. */
export function hostRuleProblems(card: Json): string[] {
  const problems: string[] = [];
  if (card.type !== 'AdaptiveCard') problems.push(`$.type is ${JSON.stringify(card.type)}, not "AdaptiveCard"`);
  if (card.version !== '1.5') problems.push(`$.version is ${JSON.stringify(card.version)}, not "1.5"`);
  visit(card, '$', (v, at) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return;
    const o = v as Json;
    const type = typeof o.type === 'string' ? o.type : '';
    if (type === 'Action.Submit') problems.push(`${at}: Action.Submit; Mailroom's cards use Action.Execute (Universal Actions)`);
    if (type === 'Action.Execute') {
      if (typeof o.verb !== 'string' || !o.verb) problems.push(`${at}: Action.Execute "${String(o.title)}" has no verb`);
      if (!o.data || typeof o.data !== 'object' || Array.isArray(o.data)) problems.push(`${at}: Action.Execute "${String(o.title)}" has no data object`);
      if (typeof o.title !== 'string' || !o.title) problems.push(`${at}: Action.Execute without a title`);
    }
    if (type.startsWith('Input.')) {
      if (typeof o.id !== 'string' || !o.id) problems.push(`${at}: ${type} without an id`);
      const label = type === 'Input.Toggle' ? (o.label ?? o.title) : o.label;
      if (typeof label !== 'string' || !label.trim()) problems.push(`${at}: ${type} "${String(o.id)}" has no label`);
    }
  });
  return problems;
}

/** Values the renderer leaves out of `toJSON()` because they are the defaults: such a property is not "ignored". */
const DEFAULTS: Record<string, readonly unknown[]> = {
  style: ['default', 'Default', 'Text', 'compact'],
  valueOn: ['true'],
  valueOff: ['false'],
  spacing: ['Default', 'default'],
  associatedInputs: ['auto', 'Auto'],
};
const isDefault = (key: string, v: unknown) => v === null || v === false || v === '' || (Array.isArray(v) && v.length === 0) || (DEFAULTS[key] ?? []).includes(v);
/** Properties the renderer reads but does not write back. */
const NOT_ROUND_TRIPPED = new Set(['$schema']);

/**
 * Properties of the card that the renderer silently dropped: present (with a non-default value) in the JSON
 * but absent or different in what it understood. The renderer ignores values of the wrong JSON type (a string
 * where a number is expected, say) without any parse event, so this is the way to see them.
 */
export function ignoredProperties(sent: unknown, understood: unknown, at = '$'): string[] {
  if (Array.isArray(sent)) {
    if (!Array.isArray(understood)) return sent.length ? [`${at}: ${JSON.stringify(sent).slice(0, 80)} was ignored`] : [];
    return sent.flatMap((v, i) => ignoredProperties(v, understood[i], `${at}[${i}]`));
  }
  if (sent && typeof sent === 'object') {
    if (!understood || typeof understood !== 'object') return [`${at} was ignored`];
    const u = understood as Json;
    return Object.entries(sent as Json).flatMap(([k, v]) => {
      if (NOT_ROUND_TRIPPED.has(k)) return [];
      if (!(k in u)) return isDefault(k, v) ? [] : [`${at}.${k} = ${JSON.stringify(v).slice(0, 80)} was ignored`];
      return ignoredProperties(v, u[k], `${at}.${k}`);
    });
  }
  if (sent !== understood && !(typeof sent === 'string' && typeof understood === 'string' && sent.toLowerCase() === understood.toLowerCase())) {
    return [`${at} = ${JSON.stringify(sent)} was read as ${JSON.stringify(understood)}`];
  }
  return [];
}

/**
 * Filling in Adaptive Card forms in the Agents Playground (Fluent UI controls) and waiting for the card an action
 * brings, shared by the Playground suites.
 */
import assert from 'node:assert/strict';
import type { Locator } from 'playwright-core';
import type { PlaygroundPage } from './browser';

/** Types into a text input found by its label. */
export const text = (form: Locator, label: RegExp, value: string): Promise<void> => form.getByRole('textbox', { name: label }).fill(value);

/** Picks a choice of a compact choice set (the Playground renders it as a Fluent UI combobox) by its title. */
export async function choose(form: Locator, label: RegExp, choice: string | RegExp): Promise<void> {
  const box = form.getByRole('combobox', { name: label });
  await box.click();
  await form.page().getByRole('option', { name: choice }).first().click();
  const shown = await box.inputValue();
  assert.ok(typeof choice === 'string' ? shown === choice : choice.test(shown), `the ${String(label)} box shows ${String(choice)}, not "${shown}"`);
}

/** Sets a toggle (an Input.Toggle, rendered as a checkbox) found by its label. */
export const toggle = (form: Locator, label: RegExp, on: boolean): Promise<void> => form.getByRole('checkbox', { name: label }).setChecked(on);

/** Runs `act` and resolves with the card matching `match` that appeared because of it (the count grew). */
export async function newCard(p: PlaygroundPage, match: RegExp, act: () => Promise<void>, timeout = 20_000): Promise<Locator> {
  const all = p.page.locator('.ac-adaptiveCard', { hasText: match });
  const before = await all.count();
  await act();
  const until = Date.now() + timeout;
  while ((await all.count()) <= before) {
    if (Date.now() > until) {
      const last = await p.page.locator('.ac-adaptiveCard').last().innerText().catch(() => '(no card)');
      assert.fail(`no new card matching ${String(match)} within ${timeout} ms; the last card reads:\n${last}`);
    }
    await p.page.waitForTimeout(100);
  }
  return all.last();
}

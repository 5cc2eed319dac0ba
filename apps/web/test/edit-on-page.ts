/** An in-paint through the page's UI (the T-shirt, the default centre box, as class 1, seed 5) and the CLI's same edit. */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { repoDir, waitForState } from './harness.js';
import { decodeDataUrl, type Rgb } from './pixels.js';

export const TSHIRT = path.join(repoDir, 'packages/cli/assets/docs/tshirt-t10k-19.png');
/** `nextscale edit` arguments for the edit editOnPage makes. */
export const EDIT_CLI_ARGS = [
  '--image',
  TSHIRT,
  '--box',
  '0.25,0.25,0.75,0.75',
  '--mode',
  'inpaint',
  '--class',
  '1',
  '--seed',
  '5',
];

export async function editOnPage(page: Page, engine: string): Promise<Rgb> {
  await page.locator('#engine').selectOption(engine);
  await page.locator('#picture-input').setInputFiles(TSHIRT);
  await page.waitForFunction(() => document.documentElement.dataset.picture === 'ready');
  await page.locator('#edit-mode').selectOption('class');
  await page.locator('#edit-class').selectOption('1');
  await page.locator('#seed').fill('5');
  await page.locator('#edit').click();
  const state = await waitForState(page, ['done', 'error'], 180_000);
  expect(state === 'done' ? 'done' : await page.locator('#error').textContent()).toBe('done');
  return decodeDataUrl((await page.locator('#result').getAttribute('src'))!);
}

/**
 * Debian's chromium, driven by puppeteer-core (it downloads no browser of its
 * own): headless, without the sandbox (tests run as root), and without
 * /dev/shm (small in containers).
 */
import puppeteer, { type Browser } from "puppeteer-core";

const CHROMIUM = "/usr/bin/chromium";

/** Starts a headless chromium for one test; the test closes it. */
export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

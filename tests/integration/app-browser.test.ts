/*
 * The owner's app (tools/app) in a real browser: Debian's Chromium, headless,
 * driven by playwright-core, against `doorward app`'s simulated doorbell,
 * embedded broker and HTTP server. What a person would do: pair (a wrong code
 * first), watch a ring arrive with its snapshot, play its clip, reload, see a
 * forged envelope refused, lose the broker and get it back. The page is
 * found by the contract later checks rely on: a text field labelled "Setup
 * code", a button "Pair", a list "Events" whose items each hold an image.
 *
 * Skips, saying so, only when Chromium is not installed. With
 * DOORWARD_APP_SCREENSHOTS=DIR it saves the screens docs/app.md shows.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { get } from "node:http";
import mqtt from "mqtt";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { startApp } from "../../tools/app/server.js";
import type { RunningApp } from "../../tools/app/server.js";
import { defaultScene } from "../../tools/sim/run.js";
import { waitFor } from "../support/wait.js";
import { projectRoot } from "../../tools/build/firmware.js";
import type { Label } from "../../tools/factory/label.js";

/**
 * navigator.bluetooth for a page, standing in for Chromium's Web Bluetooth
 * (and for the device's radio): the chooser picks the one device when the
 * filter names the onboarding service; the GATT connection is the simulated
 * device's link at MTU 23 (the WebSocket `doorward app` serves); a write is
 * refused while another is in progress and above 512 bytes, as Chromium's
 * are; each notification sets the characteristic's value and fires
 * characteristicvaluechanged. It records what passed, for the test.
 */
const bluetoothStandIn = `(() => {
	const service = "6c0b0001-5d2e-4f7a-9b1c-3e8d0a4f2b61";
	const seen = window.bluetoothStandIn = { chosen: 0, writes: [], notifications: [], refused: [] };
	let socket;
	const device = new EventTarget();
	const notify = Object.assign(new EventTarget(), { value: undefined, async startNotifications() { return notify; } });
	let busy = false;
	const write = {
		writeValueWithResponse(value) {
			const bytes = new Uint8Array(value.buffer ?? value, value.byteOffset ?? 0, value.byteLength);
			if (busy) { seen.refused.push("in progress"); return Promise.reject(new DOMException("GATT operation already in progress.", "NetworkError")); }
			if (bytes.length > 512) { seen.refused.push("too long"); return Promise.reject(new DOMException("Value can't exceed 512 bytes.", "InvalidModificationError")); }
			busy = true;
			seen.writes.push(bytes.length);
			socket.send(bytes.slice());
			return new Promise((resolve) => setTimeout(() => { busy = false; resolve(); }, 5));
		},
	};
	const gatt = {
		connect: () => new Promise((resolve, reject) => {
			socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/link?mtu=23");
			socket.binaryType = "arraybuffer";
			socket.onopen = () => resolve(gatt);
			socket.onerror = () => reject(new DOMException("Connection failed.", "NetworkError"));
			socket.onmessage = (event) => {
				seen.notifications.push(event.data.byteLength);
				notify.value = new DataView(event.data);
				notify.dispatchEvent(new Event("characteristicvaluechanged"));
			};
			socket.onclose = () => device.dispatchEvent(new Event("gattserverdisconnected"));
		}),
		disconnect: () => socket && socket.close(),
		getPrimaryService: async (uuid) => {
			if (uuid !== service) throw new DOMException("No Services matching UUID found in Device.", "NotFoundError");
			return { getCharacteristic: async (id) => id.endsWith("0002-5d2e-4f7a-9b1c-3e8d0a4f2b61") ? write : notify };
		},
	};
	device.gatt = gatt;
	Object.defineProperty(navigator, "bluetooth", { value: {
		async requestDevice(options) {
			if (!options.filters.some((filter) => (filter.services || []).includes(service)))
				throw new DOMException("User cancelled the requestDevice() chooser.", "NotFoundError");
			seen.chosen++;
			return device;
		},
	} });
})();`;

const chromiumPath = [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => path && existsSync(path));
const skip = chromiumPath ? false : "Chromium is not installed (Debian: apt-get install chromium; or set CHROMIUM=/path/to/it): the owner's app's browser tests need it";
const screenshots = process.env.DOORWARD_APP_SCREENSHOTS;
const wifi = { ssid: "home", passphrase: "correct horse battery" };
/** The device, the detector and Chromium share two cores with other suites: generous, never asserted on. */
const slow = 90000;

describe("the owner's app in Chromium", { skip }, () => {
	let folder: string;
	let app: RunningApp;
	let label: Label;
	let browser: Browser;
	let page: Page;
	const statuses: string[] = [];
	const logs: string[] = [];
	const foreign: string[] = [];
	const problems: string[] = [];

	const online = () => page.locator("#connection[data-state=online]").waitFor({ timeout: slow });
	/** The screen as a phone shows it (390 px wide, what is in view): docs/app.md. */
	const shot = async (name: string, scrollTo?: string, only?: string) => {
		if (!screenshots)
			return;
		mkdirSync(screenshots, { recursive: true });
		if (only) {
			await page.locator(only).screenshot({ path: join(screenshots, `${name}.png`) });
			return;
		}
		if (scrollTo)
			await page.locator(scrollTo).scrollIntoViewIfNeeded();
		await page.screenshot({ path: join(screenshots, `${name}.png`) });
	};
	/** Usable at a phone's width: nothing makes the page scroll sideways. */
	const fitsWidth = async () => assert.ok(await page.evaluate("document.documentElement.scrollWidth") as number <= 390, "the page fits 390 px");

	before(async () => {
		folder = mkdtempSync(join(tmpdir(), "doorward-app-"));
		app = await startApp({ port: 0, scene: defaultScene, timeline: false, networks: [wifi], out: folder, say: (line) => logs.push(line) });
		app.device.on("status", (status) => statuses.push(status.state));
		label = await app.label;
		await app.online;
		browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] }); // CI runs as root, in containers with a small /dev/shm
		const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
		page = await context.newPage();
		const origin = new URL(app.url).origin;
		const brokerOrigin = new URL(app.broker.webSocketUrl!).origin;
		page.on("request", (request) => {
			const url = request.url();
			if (!url.startsWith(`${origin}/`) && !url.startsWith("blob:") && !url.startsWith(brokerOrigin))
				foreign.push(url);
		});
		page.on("console", (message) => (message.type() === "error") && problems.push(message.text()));
		page.on("pageerror", (error) => problems.push(error.message));
		await page.goto(app.url);
		await page.waitForSelector("body[data-ready=true]");
	});

	after(async () => {
		await browser?.close();
		await app?.close();
		if (folder)
			rmSync(folder, { recursive: true, force: true });
	});

	test("the app's TypeScript type-checks (tools/app/web/tsconfig.json, DOM and no Node)", () => {
		const result = spawnSync(process.execPath, [join(projectRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(projectRoot, "tools", "app", "web")], { encoding: "utf8" });
		assert.equal(result.status, 0, result.stdout + result.stderr);
	});

	test("the page is served under a strict CSP and reaches the broker over WebSocket", async () => {
		const response = await fetch(app.url);
		const csp = response.headers.get("content-security-policy") ?? "";
		assert.match(csp, /default-src 'none'/);
		assert.match(csp, /script-src 'self'(;|$)/);
		assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
		// A page of another site whose name resolves to 127.0.0.1 (DNS rebinding) gets nothing.
		const wrongHost = await new Promise<number>((resolve, reject) => get(app.url, { headers: { host: "attacker.example" } }, (answer) => {
			answer.resume();
			resolve(answer.statusCode ?? 0);
		}).on("error", reject));
		assert.equal(wrongHost, 421);
		await online();
	});

	test("before pairing, the Web Bluetooth link runs the same exchange at MTU 23 in a second browser context, through a stand-in for navigator.bluetooth that behaves as Chromium's", async () => {
		const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
		try {
			const other = await context.newPage();
			await other.addInitScript({ content: bluetoothStandIn });
			await other.goto(app.url);
			await other.waitForSelector("body[data-ready=true]");
			await other.getByLabel("Connect over").selectOption("bluetooth");
			const wrong = label.setupCode.replace(/.$/, (digit) => String((Number(digit) + 3) % 10));
			await other.getByLabel("Setup code").fill(wrong);
			await other.getByRole("button", { name: "Pair", exact: true }).click();
			await other.locator("#pair-error:not(:empty)").waitFor({ timeout: slow });
			assert.match(await other.locator("#pair-error").textContent() ?? "", /^Wrong code: /);
			const seen = await other.evaluate("window.bluetoothStandIn") as { chosen: number; writes: number[]; notifications: number[]; refused: string[] };
			assert.equal(seen.chosen, 1);
			assert.deepEqual(seen.refused, [], "no write while another was in progress, none over 512 bytes");
			// Hello (1 fragment) and the share (66 bytes: 4 fragments of at most 20); Parameters and the device's share came back as 2 and 6.
			assert.deepEqual(seen.writes, [3, 20, 20, 20, 10]);
			assert.equal(seen.notifications.length, 8);
			assert.ok(seen.notifications.every((size) => size <= 20));
		}
		finally {
			await context.close();
		}
	});

	test("after 20 wrong codes the device's window is closed, said in words; its button opens it again", async () => {
		const wrong = label.setupCode.replace(/^./, (digit) => String((Number(digit) + 2) % 10));
		let said = "";
		for (let attempt = 0; attempt < 25 && !/window is closed/.test(said); attempt++) {
			await page.getByLabel("Setup code").fill(wrong);
			await page.getByRole("button", { name: "Pair", exact: true }).click();
			await page.locator("#pair-error:not(:empty)").waitFor({ timeout: slow });
			said = await page.locator("#pair-error").textContent() ?? "";
			assert.match(said, /^(Wrong code: |The device's pairing window is closed)/);
		}
		assert.equal(said, "The device's pairing window is closed (closed after 20 failed attempts: press the button to open it again).");
		app.device.press();
		await waitFor("the window to open again", () => logs.some((line) => /commissioning window is open \(button\)/.test(line)) || undefined, slow);
	});

	test("a wrong code is refused in words, then the label's code pairs and the device joins the Wi-Fi", async () => {
		const wrong = label.setupCode.replace(/^./, (digit) => String((Number(digit) + 1) % 10));
		await page.getByLabel("Setup code").fill(wrong);
		await page.getByRole("button", { name: "Pair", exact: true }).click();
		await page.locator("#pair-error:not(:empty)").waitFor({ timeout: slow });
		assert.match(await page.locator("#pair-error").textContent() ?? "", /^Wrong code: /);
		await shot("wrong-code");
		await fitsWidth();
		// The device id comes from the simulator's nearby device; the code alone is typed, as from the label.
		await page.getByLabel("Setup code").fill(label.manualCode);
		await page.getByLabel("Wi-Fi network").fill(wifi.ssid);
		await page.getByLabel("Wi-Fi passphrase").fill(wifi.passphrase);
		await page.getByRole("button", { name: "Pair", exact: true }).click();
		await page.getByText(/Paired as owner/).waitFor({ timeout: slow });
		const progress = await page.locator("#paired").textContent();
		assert.match(progress!, new RegExp(`fingerprint ${label.fingerprint}\\. It joined ${wifi.ssid}\\.`));
		assert.equal(await page.locator("#pair-error").textContent(), "");
		// Its own admission arrives as an audit event, and the chain holds.
		await page.getByText(/audit chain holds/).waitFor({ timeout: slow });
		await page.getByRole("list", { name: "Phones" }).getByText(/\(owner\), this phone/).waitFor();
	});

	test("the label's code admits nobody once the device is owned: said in words", async () => {
		await page.getByRole("button", { name: "Add a doorbell" }).click();
		await page.getByLabel("Setup code").fill(label.qr);
		await page.getByLabel("Wi-Fi network").fill("");
		await page.getByRole("button", { name: "Pair", exact: true }).click();
		await page.locator("#pair-error:not(:empty)").waitFor({ timeout: slow });
		assert.match(await page.locator("#pair-error").textContent() ?? "", /This device already has an owner: the label's code admits nobody now; the owner must invite this phone\./);
		await page.getByRole("button", { name: "Cancel" }).click();
		assert.equal(await page.getByLabel("Setup code").isVisible(), false);
	});

	test("a ring appears without a reload, with a decoded snapshot, and its clip plays at its capture rate", async () => {
		app.device.press();
		const events = page.getByRole("list", { name: "Events" });
		const ring = events.locator("li[data-kind=ring]").first();
		await ring.waitFor({ timeout: slow });
		const image = ring.locator("img").first();
		// Decoded, not only loaded: the snapshot's JPEG has pixels.
		await page.waitForFunction((element: { complete: boolean; naturalWidth: number }) => element.complete && (element.naturalWidth > 0), await image.elementHandle(), { timeout: slow });
		assert.match(await image.getAttribute("alt") ?? "", /^Snapshot of the ring/);
		for (const item of await events.getByRole("listitem").all())
			assert.ok(await item.locator("img").count() > 0, "every item of the Events list holds an image");
		const play = ring.getByRole("button", { name: /Play clip \(\d+ frames\)/ });
		await play.waitFor({ timeout: slow });
		await shot("events", "#timeline");
		await fitsWidth();
		const frames = Number(/\((\d+) frames\)/.exec(await play.textContent() ?? "")![1]);
		assert.ok(frames > 1);
		await play.click();
		const canvas = page.getByRole("img", { name: "Clip" });
		await page.locator("#clip-canvas[data-state=playing]").waitFor({ timeout: slow });
		await shot("clip");
		await page.locator("#clip-canvas[data-state=ended]").waitFor({ timeout: slow });
		assert.equal(await canvas.getAttribute("data-frame"), String(frames));
		assert.match(await page.locator("#clip-status").textContent() ?? "", new RegExp(`Frame ${frames} of ${frames}, captured at [0-9.]+ frames a second`));
		// The last frame was drawn: the canvas is not blank.
		type Canvas = { width: number; height: number; getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
		const lit = await canvas.evaluate((element) => {
			const drawn = element as unknown as Canvas;
			const pixels = drawn.getContext("2d").getImageData(0, 0, drawn.width, drawn.height).data;
			let sum = 0;
			for (let i = 0; i < pixels.length; i += 4 * 97)
				sum += pixels[i] + pixels[i + 1] + pixels[i + 2];
			return sum;
		});
		assert.ok(lit > 0, "the clip drew its frames");
		await page.getByRole("button", { name: "Close" }).click();
	});

	test("a reload keeps the keys and the window; a forged envelope is listed as refused with its reason and never shown", async () => {
		const before = await page.locator("#devices").textContent();
		const items = await page.getByRole("list", { name: "Events" }).getByRole("listitem").count();
		await page.reload();
		await page.waitForSelector("body[data-ready=true]");
		assert.equal(await page.locator("#devices").textContent(), before, "the device and its last sequence number survive a reload");
		assert.equal(await page.getByRole("list", { name: "Events" }).getByRole("listitem").count(), items);
		await online();

		// A listener with the phone's credentials captures the next envelope; a publisher with the device's plays it back altered.
		const listener = await mqtt.connectAsync(app.broker.url, { ...app.broker.phone, clientId: `capture-${randomBytes(4).toString("hex")}` });
		const captured: { topic: string; payload: Buffer }[] = [];
		listener.on("message", (topic, payload) => captured.push({ topic, payload }));
		await listener.subscribeAsync("dw/+/ev", { qos: 1 });
		app.device.press();
		await page.getByRole("list", { name: "Events" }).getByRole("listitem").nth(items).waitFor({ timeout: slow });
		await listener.endAsync();
		const original = captured[0];
		assert.ok(original, "the ring was published");
		// A sequence number the phone has not seen, on an otherwise genuine envelope: the signature no longer covers it.
		const forged = Buffer.from(original.payload);
		forged.writeUInt32BE(forged.readUInt32BE(44) + 40, 44);
		forged[24] ^= 1; // and another event id: one the app has not shown (a known one it drops as a redelivery)
		const publisher = await mqtt.connectAsync(app.broker.url, { ...app.broker.device, clientId: `forger-${randomBytes(4).toString("hex")}` });
		await publisher.publishAsync(original.topic, forged, { qos: 1 });
		await publisher.publishAsync(original.topic, original.payload, { qos: 1 });
		await publisher.endAsync();
		const refused = page.getByRole("list", { name: "Refused" }).getByRole("listitem");
		await refused.first().waitFor({ timeout: slow });
		assert.match(await refused.first().textContent() ?? "", /Refused: the signature does not verify/);
		await shot("refused", "#refused");
		// The replayed original is the event already shown: dropped, not shown twice; the forgery is not shown at all,
		// and used up nothing: the next genuine event is accepted without a gap (the next test).
		await new Promise((resolve) => setTimeout(resolve, 1000));
		assert.equal(await refused.count(), 1);
		assert.equal(await page.locator(`#events li[data-event-id="${original.payload.subarray(24, 40).toString("hex")}"]`).count(), 1);
	});

	test("a broker that goes away shows offline, and the app reconnects by itself and gets what it missed", async () => {
		const items = await page.getByRole("list", { name: "Events" }).getByRole("listitem").count();
		await app.broker.stop();
		await page.locator("#connection[data-state=offline]").waitFor({ timeout: slow });
		await shot("offline", "header");
		await app.broker.restart();
		await online();
		app.device.press();
		const fresh = page.getByRole("list", { name: "Events" }).getByRole("listitem").first();
		await page.getByRole("list", { name: "Events" }).getByRole("listitem").nth(items).waitFor({ timeout: slow });
		assert.equal(await fresh.locator(".warning").count(), 0, "no gap: the forgery did not move the window");
	});

	test("live view: the button starts a signed session, at least 10 decrypted frames show with the frame rate and the time left, and Stop ends it", async () => {
		await page.getByRole("button", { name: "Live view" }).click();
		const live = page.getByRole("img", { name: "Live" });
		await live.waitFor({ timeout: slow });
		await page.waitForFunction((element: { dataset: Record<string, string | undefined> }) => Number(element.dataset.frames ?? 0) >= 10, await live.elementHandle(), { timeout: slow });
		// Decoded: the last frame shown is a JPEG with pixels.
		await page.waitForFunction((element: { complete: boolean; naturalWidth: number }) => element.complete && (element.naturalWidth > 0), await live.elementHandle(), { timeout: slow });
		assert.match(await page.locator("#live-info").textContent() ?? "", /^[0-9.]+ frames a second, \d+ s left, \d+ frames$/);
		assert.match(await page.locator("#live-status").textContent() ?? "", /^Live view of doorbell [0-9a-f]{8}…, \d+x\d+, for 60 s\.$/);
		await shot("live", undefined, "#home");
		await fitsWidth();
		await page.getByRole("button", { name: "Stop" }).click();
		await page.getByText(/^Live view ended: stop\. \d+ frames shown\.$/).waitFor({ timeout: slow });
		assert.equal(await live.isVisible(), false);
		// The device's log has the session's start and end, signed and chained.
		await page.getByRole("list", { name: "Device log" }).getByText(/liveEnd .*reason stop/).waitFor({ timeout: slow });
	});

	test("the owner invites a second browser, which pairs with the one-time code; the owner removes it, and it sees nothing new", async () => {
		const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
		try {
			await page.getByRole("button", { name: "Invite a phone" }).click();
			const code = page.locator("#invitation-code");
			await code.waitFor({ timeout: slow });
			const oneTime = await code.textContent() ?? "";
			assert.match(oneTime, /^\d{8}$/);
			assert.notEqual(oneTime, label.setupCode);
			assert.match(await page.locator("#invitation").textContent() ?? "", /before .+ \(10 minutes; it admits one phone, as a member\)\. The doorbell opened the invitation \(audit entry \d+\)\./);
			assert.ok(await page.locator("#invitation-expires").getAttribute("datetime"));

			const other = await context.newPage();
			other.on("pageerror", (error) => problems.push(`second context: ${error.message}`));
			await other.goto(app.url);
			await other.waitForSelector("body[data-ready=true]");
			await other.getByLabel("Setup code").fill(oneTime);
			await other.getByRole("button", { name: "Pair", exact: true }).click();
			await other.getByText(/Paired as member/).waitFor({ timeout: slow });
			const mine = other.getByRole("list", { name: "Phones" }).locator("li", { hasText: "(member), this phone" });
			await mine.waitFor({ timeout: slow });
			const keyId = await mine.getAttribute("data-phone");
			assert.match(keyId ?? "", /^[0-9a-f]{16}$/);
			// A member may remove itself, not others, and may not invite.
			assert.equal(await other.getByRole("button", { name: "Invite a phone" }).isDisabled(), true);
			assert.equal(await other.locator("#phones li[data-phone]:not([data-phone='" + keyId + "']) button").count(), 0);

			const invited = page.locator(`#phones li[data-phone="${keyId}"]`);
			await invited.getByText("(member)").waitFor({ timeout: slow });
			await shot("phones", undefined, "section:has(#phones)");
			await fitsWidth();
			// The owner's role toggle: a member made an owner and back, each change the log's signed role entry.
			await invited.getByRole("button", { name: / an owner$/ }).click();
			await invited.getByText("(owner)").waitFor({ timeout: slow });
			await other.getByRole("button", { name: "Invite a phone" }).and(other.locator(":enabled")).waitFor({ timeout: slow });
			await invited.getByRole("button", { name: / a member$/ }).click();
			await invited.getByText("(member)").waitFor({ timeout: slow });
			await invited.getByRole("button", { name: /^Remove / }).click();
			await page.getByText(/^Browser was removed \(audit entry \d+\)\.$/).waitFor({ timeout: slow });
			assert.equal(await invited.count(), 0);
			await other.getByText(/^This phone was removed from doorbell [0-9a-f]{8}… by the owner [0-9a-f]{16}/).waitFor({ timeout: slow });

			// A ring now reaches the owner, and not the removed phone: it is no recipient any more, so it cannot open it.
			const ownerItems = await page.getByRole("list", { name: "Events" }).getByRole("listitem").count();
			const otherItems = await other.getByRole("list", { name: "Events" }).getByRole("listitem").count();
			const otherRefused = await other.getByRole("list", { name: "Refused" }).getByRole("listitem").count();
			app.device.press();
			await page.getByRole("list", { name: "Events" }).getByRole("listitem").nth(ownerItems).waitFor({ timeout: slow });
			await other.getByRole("list", { name: "Refused" }).getByRole("listitem").nth(otherRefused).waitFor({ timeout: slow });
			assert.match(await other.getByRole("list", { name: "Refused" }).getByRole("listitem").first().textContent() ?? "", /this phone is not a recipient of the event/);
			assert.equal(await other.getByRole("list", { name: "Events" }).getByRole("listitem").count(), otherItems);
			// Nor can it watch: its Live view says why.
			await other.getByRole("button", { name: "Live view" }).click();
			await other.getByText(/^Live view: this phone was removed from its doorbell/).waitFor({ timeout: slow });
		}
		finally {
			await context.close();
		}
	});

	test("the page stayed on its own origin and raised no errors", () => {
		assert.deepEqual(foreign, []);
		assert.deepEqual(problems.filter((text) => !/WebSocket connection to .* failed/.test(text)), []);
	});
});

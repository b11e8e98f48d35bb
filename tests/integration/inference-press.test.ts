/*
 * Runs tests/xs/inference-press.ts in the XS host with a world that presses
 * the button when the device asks (a Status {"state": "press-me"}): a press
 * that comes in over the bridge while the detect stage's model runs on its
 * worker thread is handled before that detection completes. Again in the
 * host built with AddressSanitizer.
 */
import { test } from "node:test";
import { existsSync } from "node:fs";
import { sanitizedHost } from "../../tools/build/firmware.js";
import { runXsModule } from "../support/xs-run.js";
import type { XsWorld } from "../support/xs-run.js";
import { ToDevice, ToWorld } from "../../hardware/sim/bridge/messages.js";

const world: XsWorld = (send) => ({
	onMessage(type, payload) {
		if ((type === ToWorld.Status) && (JSON.parse(payload.toString("utf8")) as { state?: string }).state === "press-me") {
			send(ToDevice.Button, Buffer.of(1));
			send(ToDevice.Button, Buffer.of(0));
		}
	},
	close() {},
});

test("XS: a press over the bridge is handled while a detection's model runs", (t) => runXsModule(t, "tests/inference-press", [], 120000, undefined, undefined, world));

const host = sanitizedHost();
const skip = existsSync(host) ? false : `${host} is missing: npm test builds it (npx doorward build --sanitized)`;
test("XS, sanitized host: a press over the bridge is handled while a detection's model runs", { skip }, (t) => runXsModule(t, "tests/inference-press", [], 300000, undefined, host, world));

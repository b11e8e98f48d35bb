/*
 * Runs tests/xs/camera-contract.ts in the XS host with a world on the bridge
 * that streams numbered frames while the camera is on: the simulator's
 * camera must be as strict as the device's (Moddable's esp32 camera module).
 * Again in the host built with AddressSanitizer: frames.c frees the driver's
 * records under frames the firmware may still hold.
 */
import { test } from "node:test";
import { existsSync } from "node:fs";
import { sanitizedHost } from "../../tools/build/firmware.js";
import { runXsModule } from "../support/xs-run.js";
import type { XsWorld } from "../support/xs-run.js";
import { ToDevice, ToWorld } from "../../hardware/sim/bridge/messages.js";

/** Frames of 64 bytes: SOI, a 16-bit number, filler, EOI; a new one every 10 ms while the camera is on. */
const world: XsWorld = (send) => {
	let timer: NodeJS.Timeout | undefined;
	let next = 0;
	const stop = () => {
		clearInterval(timer);
		timer = undefined;
	};
	return {
		onMessage(type, payload) {
			if (type !== ToWorld.Camera)
				return;
			stop();
			if (payload[0]) {
				timer = setInterval(() => {
					const frame = Buffer.alloc(4 + 64, 0x55);
					frame.writeUInt16BE(320, 0);
					frame.writeUInt16BE(240, 2);
					frame.writeUInt16BE(0xFFD8, 4);
					frame.writeUInt16BE(++next & 0xFFFF, 6);
					frame.writeUInt16BE(0xFFD9, frame.length - 2);
					send(ToDevice.Frame, frame);
				}, 10);
			}
		},
		close: stop,
	};
};

test("XS: the simulator's camera holds to the device's contract", (t) => runXsModule(t, "tests/camera-contract", [], 120000, undefined, undefined, world));

const host = sanitizedHost();
const skip = existsSync(host) ? false : `${host} is missing: npm test builds it (npx doorward build --sanitized)`;
test("XS, sanitized host: the simulator's camera holds to the device's contract", { skip }, (t) => runXsModule(t, "tests/camera-contract", [], 300000, undefined, host, world));

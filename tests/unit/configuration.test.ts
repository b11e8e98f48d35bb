import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfiguration } from "device/configuration";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

test("a minimal configuration gets the documented defaults", () => {
	const configuration = parseConfiguration(encode({ broker: { address: "10.0.0.2", port: 8883 }, model: "dw-1" }));
	assert.equal(configuration.broker.port, 8883);
	assert.equal(configuration.broker.username, undefined);
	assert.deepEqual(configuration.burst, { frames: 20, preRollFrames: 10, fps: 5, timeoutMs: 8000, width: 320, height: 240 });
	assert.equal(configuration.keepAliveSeconds, 30);
	assert.equal(configuration.faceDetection, true, "face detection on unless turned off");
	assert.deepEqual(configuration.privacyZones, []);
	assert.ok(Object.isFrozen(configuration) && Object.isFrozen(configuration.broker));
});

test("each bad field is refused by name", () => {
	const good = { broker: { address: "h", port: 1883 }, model: "m" };
	const cases: [unknown, RegExp][] = [
		[{ ...good, broker: undefined }, /broker is required/],
		[{ ...good, broker: { address: "h", port: 0 } }, /broker\.port is invalid/],
		[{ ...good, broker: { address: "", port: 1 } }, /broker\.address is invalid/],
		[{ ...good, broker: { address: "h", port: 1, username: "u" } }, /broker\.password is required/],
		[{ ...good, model: "x\ny" }, /model is invalid/],
		[{ ...good, burst: { frames: 0 } }, /burst\.frames is invalid/],
		[{ ...good, burst: { preRollFrames: -1 } }, /burst\.preRollFrames is invalid/],
		[{ ...good, burst: { fps: 0 } }, /burst\.fps is invalid/],
		[{ ...good, keepAliveSeconds: 1 }, /keepAliveSeconds is invalid/],
		[{ ...good, faceDetection: "yes" }, /faceDetection is invalid/],
		[{ ...good, privacyZones: {} }, /privacyZones: must be an array/],
		[{ ...good, privacyZones: [{ points: [[0, 0], [1, 0]] }] }, /privacyZones\[0\]\.points: 3 to 32 points/],
		[{ ...good, privacyZones: [{ points: [[0, 0], [1, 0], [0.5, 1.5]] }] }, /privacyZones\[0\]\.points\[2\]\[1\]: must be a number from 0 to 1/],
		[{ ...good, burst: { width: 1600, height: 1200 }, privacyZones: [{ points: [[0, 0], [1, 0], [1, 1]] }] }, /privacyZones cannot be applied to 1600x1200 frames/],
		[[1, 2], /not a JSON object/],
	];
	for (const [value, pattern] of cases)
		assert.throws(() => parseConfiguration(encode(value)), pattern);
	assert.throws(() => parseConfiguration(Uint8Array.of(0xFF)), /not UTF-8 JSON/);
});

test("privacy zones survive the round trip through flash", () => {
	const zones = [{ points: [[0.1, 0.2], [0.5, 0.2], [0.3, 0.9]] }];
	const configuration = parseConfiguration(encode({ broker: { address: "h", port: 1883 }, model: "m", privacyZones: zones, faceDetection: false }));
	const again = parseConfiguration(encode(configuration));
	assert.deepEqual(again.privacyZones, zones);
	assert.equal(again.faceDetection, false);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfiguration } from "device/configuration";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

test("a minimal configuration gets the documented defaults", () => {
	const configuration = parseConfiguration(encode({ broker: { address: "10.0.0.2", port: 8883 }, model: "dw-1" }));
	assert.equal(configuration.broker.port, 8883);
	assert.equal(configuration.broker.username, undefined);
	assert.deepEqual(configuration.burst, { frames: 4, timeoutMs: 5000, width: 320, height: 240 });
	assert.equal(configuration.keepAliveSeconds, 30);
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
		[{ ...good, keepAliveSeconds: 1 }, /keepAliveSeconds is invalid/],
		[[1, 2], /not a JSON object/],
	];
	for (const [value, pattern] of cases)
		assert.throws(() => parseConfiguration(encode(value)), pattern);
	assert.throws(() => parseConfiguration(Uint8Array.of(0xFF)), /not UTF-8 JSON/);
});

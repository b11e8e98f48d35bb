/*
 * Bundles over MQTT (src/update/delivery.ts): in-order pieces reach the
 * installer once each; repeats are skipped; a gap or a new bundle ends the
 * one in progress early, which the installer then refuses as truncated.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BundleAssembler } from "update/delivery";

function message(offset: number, total: number, bytes: Uint8Array): Uint8Array {
	const payload = new Uint8Array(8 + bytes.length);
	const view = new DataView(payload.buffer);
	view.setUint32(0, offset);
	view.setUint32(4, total);
	payload.set(bytes, 8);
	return payload;
}

function recorder() {
	const log: string[] = [];
	let received = 0;
	return { log, get received() { return received; }, sink: { chunk(bytes: Uint8Array) { received += bytes.length; log.push(`chunk ${bytes.length}`); }, end() { log.push("end"); } } };
}

test("pieces in order, with a redelivered one, make one bundle", () => {
	const r = recorder();
	const assembler = new BundleAssembler(r.sink);
	const bundle = Uint8Array.from({ length: 20000 }, (_, i) => i & 255);
	const pieces = [0, 8192, 16384].map((offset) => message(offset, bundle.length, bundle.subarray(offset, offset + 8192)));
	assert.equal(assembler.receive(pieces[0]), "started");
	assert.equal(assembler.receive(pieces[1]), "took");
	assert.equal(assembler.receive(pieces[1]), "repeat", "a QoS 1 redelivery");
	assert.equal(assembler.receive(pieces[2]), "done");
	assert.equal(r.received, bundle.length);
	assert.deepEqual(r.log, ["chunk 8192", "chunk 8192", "chunk 3616", "end"]);
});

test("a gap, a change of length or a new bundle ends the one in progress early", () => {
	const r = recorder();
	const assembler = new BundleAssembler(r.sink);
	const piece = new Uint8Array(8192);
	assert.equal(assembler.receive(message(0, 30000, piece)), "started");
	assert.equal(assembler.receive(message(16384, 30000, piece)), "ended early", "a gap");
	assert.equal(assembler.receive(message(8192, 30000, piece)), "ignored", "nothing after the end until a new start");
	assert.equal(assembler.receive(message(0, 30000, piece)), "started");
	assert.equal(assembler.receive(message(8192, 40000, piece)), "ended early", "the length changed");
	assert.equal(assembler.receive(message(0, 30000, piece)), "started");
	assert.equal(assembler.receive(message(0, 20000, piece)), "started", "a new bundle replaces an unfinished one");
	assert.deepEqual(r.log.filter((line) => line === "end").length, 3);
	assert.equal(assembler.receive(Uint8Array.of(1, 2, 3)), "ignored", "too short to be a piece");
	assert.equal(assembler.receive(message(0, 0, piece)), "ended early", "an empty bundle");
});

import { test } from "node:test";
import assert from "node:assert/strict";
import Counter from "store/counter";
import { readRecord, writeRecord, maxRecordPayload } from "store/record";
import { MemoryOutbox } from "store/outbox";
import type { OutboundEvent } from "store/outbox";
import { NorFlash, PowerCut } from "../support/nor-flash.js";

test("a counter cut at every flash operation never goes backwards", () => {
	// Count far enough to roll over between the two sectors twice.
	const target = 2 * 1024 + 10;
	const clean = new NorFlash(2);
	const counter = new Counter(clean, 0);
	for (let i = 0; i < target; i++)
		counter.increment();
	const operations = clean.operations;
	// Cut at a sample of operations, rollovers included, and reopen.
	const cuts = new Set<number>();
	for (let cut = 0; cut <= operations; cut += 97)
		cuts.add(cut);
	for (const around of [1024, 1025, 1026, 2049, 2050, 2051])
		cuts.add(around);
	for (const cut of cuts) {
		const flash = new NorFlash(2);
		flash.cutAfter = cut;
		let acknowledged = 0;
		const live = new Counter(flash, 0);
		try {
			for (let i = 0; i < target; i++)
				acknowledged = live.increment();
		}
		catch (error) {
			assert.ok(error instanceof PowerCut);
		}
		flash.cutAfter = Infinity;
		const reopened = new Counter(flash, 0);
		assert.ok(reopened.value >= acknowledged, `cut at ${cut}: ${reopened.value} < ${acknowledged}`);
		assert.ok(reopened.value <= acknowledged + 1, `cut at ${cut}: ${reopened.value} jumped past ${acknowledged + 1}`);
		assert.equal(reopened.increment(), reopened.value);
	}
});

test("records: round trip, size limit, torn and foreign sectors read as absent", () => {
	const flash = new NorFlash(4);
	const payload = new TextEncoder().encode("{\"hello\":1}");
	writeRecord(flash, 2, payload);
	assert.deepEqual(readRecord(flash, 2), payload);
	assert.equal(readRecord(flash, 1), undefined, "erased sector");
	assert.throws(() => writeRecord(flash, 0, new Uint8Array(maxRecordPayload(flash) + 1)), /do not fit/);
	// Cut after the payload write, before the header: absent, not garbage.
	const torn = new NorFlash(1);
	torn.cutAfter = 2;
	assert.throws(() => writeRecord(torn, 0, payload), PowerCut);
	assert.equal(readRecord(torn, 0), undefined);
	// A flipped payload bit fails the CRC.
	flash.bytes[2 * 4096 + 12] &= 0xFE;
	assert.equal(readRecord(flash, 2), undefined);
});

function event(kind: "ring" | "motion", id: number): OutboundEvent {
	return { eventId: String(id), kind, topic: "dw/t/ev", payload: [Uint8Array.of(id)] };
}

test("the outbox drops the oldest motion for a newer event and never a ring", () => {
	const outbox = new MemoryOutbox(3);
	assert.equal(outbox.put(event("ring", 1)), undefined);
	assert.equal(outbox.put(event("motion", 2)), undefined);
	assert.equal(outbox.put(event("motion", 3)), undefined);
	assert.equal(outbox.put(event("ring", 4))?.eventId, "2");
	assert.equal(outbox.put(event("motion", 5))?.eventId, "3");
	assert.equal(outbox.put(event("ring", 6))?.eventId, "5");
	assert.throws(() => outbox.put(event("ring", 7)), /full of rings/);
	assert.deepEqual([outbox.peek()?.eventId, outbox.length], ["1", 3]);
	assert.equal(outbox.remove("1"), true);
	assert.equal(outbox.remove("1"), false);
	assert.equal(outbox.peek()?.eventId, "4");
});

/*
 * The flash outbox under simulated power cuts: after a cut at any flash
 * operation, the queue holds every event it had accepted and not yet
 * released, whole, in order, and nothing else.
 *
 * The outbox carries no MAC, unlike the doorward partition's records
 * (store/record): what it holds is sealed and signed end to end already, so
 * a slot changed on flash is refused by the phone (docs/threat-model.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FlashOutbox } from "store/flash-outbox";
import type { StoredEvent } from "store/flash-outbox";
import type { EventKind, OutboundEvent, Outbox } from "store/outbox";
import { MemoryOutbox } from "store/outbox";
import { NorFlash, PowerCut } from "../support/nor-flash.js";
import type { Tear } from "../support/nor-flash.js";

const slot = 8192;
const tears: Tear[] = ["none", "half", "bits"];

function event(n: number, kind: EventKind = "ring", size = 3000 + n * 37): OutboundEvent {
	const payload = Uint8Array.from({ length: size }, (_, i) => (i * 7 + n) & 255);
	return { eventId: n.toString(16).padStart(32, "0"), kind, topic: `dw/${"ab".repeat(16)}/ev`, payload: [payload.subarray(0, 100), payload.subarray(100)] };
}

function bytesOf(stored: StoredEvent): Uint8Array {
	return stored.read(0, stored.length);
}

test("events come back whole and in order after a reboot, and leave when removed", () => {
	const flash = new NorFlash(16);
	const outbox = new FlashOutbox(flash, slot);
	assert.equal(outbox.slotCount, 8);
	for (let n = 1; n <= 3; n++)
		outbox.put(event(n));
	const again = new FlashOutbox(flash, slot);
	assert.equal(again.length, 3);
	const first = again.peek()!;
	assert.equal(first.eventId, event(1).eventId);
	assert.deepEqual(bytesOf(first), new Uint8Array(Buffer.concat(event(1).payload)));
	assert.equal(first.topic, event(1).topic);
	assert.equal(again.remove(first.eventId), true);
	const third = new FlashOutbox(flash, slot);
	assert.deepEqual([third.length, third.peek()!.eventId], [2, event(2).eventId]);
});

test("when full, the oldest motion goes; rings are never dropped; only rings left refuses", () => {
	const outbox = new FlashOutbox(new NorFlash(6), slot);
	outbox.put(event(1, "ring"));
	outbox.put(event(2, "motion"));
	outbox.put(event(3, "motion"));
	assert.equal(outbox.put(event(4, "ring"))?.eventId, event(2).eventId);
	assert.equal(outbox.put(event(5, "motion"))?.eventId, event(3).eventId);
	assert.equal(outbox.put(event(6, "ring"))?.eventId, event(5).eventId);
	assert.throws(() => outbox.put(event(7, "ring")), /full of rings/);
	assert.throws(() => outbox.put(event(8, "motion", slot)), /a slot holds/);
});

type Step = { put: number; kind: EventKind } | { remove: number };

const steps: Step[] = [
	{ put: 1, kind: "ring" }, { put: 2, kind: "motion" }, { put: 3, kind: "ring" }, { put: 4, kind: "motion" },
	{ remove: 1 }, { put: 5, kind: "ring" }, { put: 6, kind: "motion" }, { remove: 3 }, { put: 7, kind: "ring" }, { put: 8, kind: "motion" },
];

function apply(outbox: Outbox, step: Step): void {
	if ("put" in step)
		outbox.put(event(step.put, step.kind));
	else
		outbox.remove(event(step.remove).eventId);
}

/** The queue's event numbers, oldest first; with `flash`, as a reboot would find them. */
function ids(outbox: Outbox, flash?: NorFlash): string {
	const view = flash ? new FlashOutbox(flash, slot) : outbox;
	return view.eventIds.map((id) => parseInt(id, 16)).join(",");
}

test("the flash queue keeps the same policy as the reference queue in RAM", () => {
	const flash = new NorFlash(8);
	const onFlash = new FlashOutbox(flash, slot);
	const copyOfRam: Step[] = [];
	for (const step of steps) {
		apply(onFlash, step);
		copyOfRam.push(step);
		const reference = new MemoryOutbox(4);
		for (const past of copyOfRam)
			apply(reference, past);
		assert.equal(ids(onFlash, flash), ids(reference), `after ${JSON.stringify(step)}`);
	}
});

test("a power cut at any flash operation leaves the queue as before the step, after it, or with only the victim gone", () => {
	const clean = new NorFlash(8);
	const full = new FlashOutbox(clean, slot);
	const after: string[] = [""];
	for (const step of steps) {
		apply(full, step);
		after.push(ids(full, clean));
	}
	const operations = clean.operations;
	assert.ok(operations > 40, `${operations} flash operations in the script`);
	// The operation cut short leaves nothing of itself, its first half (as the simulator host's cuts), or random bits.
	for (const tear of tears)
		for (let cut = 0; cut < operations; cut++)
			checkCut(tear, cut, after);
});

/** One cut: after it the queue is what it was before the step the cut fell in, after it, or that with only the victim gone. */
function checkCut(tear: Tear, cut: number, after: string[]): void {
	const flash = new NorFlash(8, cut + 1);
	flash.cutAfter = cut;
	flash.tear = tear;
	const outbox = new FlashOutbox(flash, slot);
	let done = 0;
	try {
		for (const step of steps) {
			apply(outbox, step);
			done++;
		}
	}
	catch (error) {
		assert.ok(error instanceof PowerCut, String(error));
	}
	flash.cutAfter = Infinity;
	const recovered = new FlashOutbox(flash, slot);
	const first = recovered.peek();
	if (first) {
		const number = parseInt(first.eventId, 16);
		assert.ok((number >= 1) && (number <= 8) && (event(number).eventId === first.eventId), `${tear}, cut ${cut}: an event id the script never put: ${first.eventId}`);
		assert.deepEqual(bytesOf(first), new Uint8Array(Buffer.concat(event(number).payload)), `${tear}, cut ${cut}: whole`);
	}
	const found = ids(recovered, flash);
	const before = after[done];
	const next = after[Math.min(done + 1, steps.length)];
	const keep = next.split(",");
	const victimGone = before.split(",").filter((id) => keep.includes(id)).join(",");
	assert.ok([before, next, victimGone].includes(found), `${tear}, cut ${cut} in step ${done + 1}: found [${found}], allowed [${before}], [${next}] or [${victimGone}]`);
}

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

function event(n: number, kind: EventKind = "ring", size = 3000 + n * 37, followUp = false): OutboundEvent {
	const payload = Uint8Array.from({ length: size }, (_, i) => (i * 7 + n) & 255);
	return {
		eventId: n.toString(16).padStart(32, "0"), kind, ...(followUp ? { followUp } : {}), topic: `dw/${"ab".repeat(16)}/ev`,
		payload: [payload.subarray(0, 100), payload.subarray(100)],
	};
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
	assert.equal(outbox.put(event(4, "ring"))[0]?.eventId, event(2).eventId);
	assert.equal(outbox.put(event(5, "motion"))[0]?.eventId, event(3).eventId);
	assert.equal(outbox.put(event(6, "ring"))[0]?.eventId, event(5).eventId);
	assert.throws(() => outbox.put(event(7, "ring")), /full of rings/);
	assert.throws(() => outbox.put(event(8, "motion", slot)), /an event holds at most/);
});

type Step = { put: number; kind: EventKind; size?: number; followUp?: boolean } | { remove: number };

const steps: Step[] = [
	{ put: 1, kind: "ring" }, { put: 2, kind: "motion" }, { put: 3, kind: "ring" }, { put: 4, kind: "motion" },
	{ remove: 1 }, { put: 5, kind: "ring" }, { put: 6, kind: "motion" }, { remove: 3 }, { put: 7, kind: "ring" }, { put: 8, kind: "motion" },
];

function apply(outbox: Outbox, step: Step): void {
	if ("put" in step)
		outbox.put(event(step.put, step.kind, step.size, step.followUp));
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

/**
 * Clips of several slots among notifications of one (slot 8 KiB, 8 slots,
 * an event spans at most 4): a clip takes a run of free slots; when none is
 * long enough, motion goes first, then rings' clips, never a notification.
 */
const spanning: Step[] = [
	{ put: 1, kind: "ring" }, { put: 2, kind: "ring", size: 20000, followUp: true }, { put: 3, kind: "motion", size: 12000 },
	{ put: 4, kind: "ring" }, { put: 5, kind: "ring", size: 30000, followUp: true }, { remove: 1 }, { put: 6, kind: "ring" },
	{ remove: 4 }, { put: 7, kind: "motion", size: 9000 }, { put: 8, kind: "ring", size: 16000, followUp: true },
];

test("an event larger than a slot spans consecutive slots and comes back whole; notifications go first and are never dropped", () => {
	const flash = new NorFlash(16);
	const outbox = new FlashOutbox(flash, slot);
	assert.equal(outbox.put(event(1, "motion", 20000)).length, 0); // 3 slots
	assert.equal(outbox.put(event(2, "ring", 30000, true)).length, 0); // 4 slots: a ring's clip
	assert.equal(outbox.put(event(3, "ring")).length, 0); // a notification, 1 slot
	assert.equal(outbox.peek()!.eventId, event(3).eventId, "a notification is sent before the clips queued ahead of it");
	const again = new FlashOutbox(flash, slot);
	assert.equal(ids(again), "1,2,3");
	for (const n of [1, 2]) {
		again.remove(event(3).eventId);
		const stored = again.peek()!;
		const size = (n === 1) ? 20000 : 30000;
		assert.deepEqual(bytesOf(stored), new Uint8Array(Buffer.concat(event(n, n === 1 ? "motion" : "ring", size, n === 2).payload)));
		assert.equal(stored.followUp === true, n === 2);
		again.remove(stored.eventId);
	}
	// Room short: the motion event goes, then the ring's clip; the notifications stay.
	const full = new FlashOutbox(new NorFlash(16), slot);
	full.put(event(10, "ring"));
	full.put(event(11, "motion", 20000));
	full.put(event(12, "ring", 20000, true));
	full.put(event(13, "ring"));
	assert.deepEqual(full.put(event(14, "ring", 20000, true)).map((gone) => parseInt(gone.eventId, 16)), [11]);
	assert.deepEqual(full.put(event(15, "ring", 20000, true)).map((gone) => parseInt(gone.eventId, 16)), [12]);
	assert.equal(ids(full), "10,13,14,15");
	// A clip that needs the room of both clips and more: both go, the notifications stay.
	assert.deepEqual(full.put(event(16, "ring", 30000, true)).map((gone) => parseInt(gone.eventId, 16)), [14, 15]);
	assert.throws(() => full.put(event(17, "motion", 30000)), /full of rings/);
	assert.equal(ids(full), "10,13,16");
	assert.throws(() => full.put(event(16, "ring", 40000)), /an event holds at most/);
});

for (const [name, script, blocks] of [["one slot each", steps, 8], ["clips across slots", spanning, 16]] as const) {
	test(`a power cut at any flash operation leaves the queue as before the step, after it, or with only the victims gone (${name})`, () => {
		const clean = new NorFlash(blocks);
		const full = new FlashOutbox(clean, slot);
		const after: string[] = [""];
		for (const step of script) {
			apply(full, step);
			after.push(ids(full, clean));
		}
		const operations = clean.operations;
		assert.ok(operations > 40, `${operations} flash operations in the script`);
		// The operation cut short leaves nothing of itself, its first half (as the simulator host's cuts), or random bits.
		for (const tear of tears)
			for (let cut = 0; cut < operations; cut++)
				checkCut(tear, cut, after, script, blocks);
	});
}

/** One cut: after it the queue is what it was before the step the cut fell in, after it, or that with only the victims gone. */
function checkCut(tear: Tear, cut: number, after: string[], steps: readonly Step[], blocks: number): void {
	const flash = new NorFlash(blocks, cut + 1);
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
	const stored = recovered.peek();
	if (stored) {
		const number = parseInt(stored.eventId, 16);
		const put = steps.find((step) => ("put" in step) && (step.put === number));
		assert.ok(put && ("put" in put) && (event(number).eventId === stored.eventId), `${tear}, cut ${cut}: an event id the script never put: ${stored.eventId}`);
		assert.deepEqual(bytesOf(stored), new Uint8Array(Buffer.concat(event(number, put.kind, put.size, put.followUp).payload)), `${tear}, cut ${cut}: whole`);
		assert.equal(stored.followUp === true, put.followUp === true, `${tear}, cut ${cut}: the follow-up flag kept`);
	}
	const found = ids(recovered, flash);
	const before = after[done];
	const next = after[Math.min(done + 1, steps.length)];
	const keep = next.split(",");
	// Victims are removed one by one: a cut between two leaves the first gone, never an event that stays.
	const victimsGone = (found !== "") && found.split(",").every((id) => before.split(",").includes(id))
		&& before.split(",").filter((id) => keep.includes(id)).every((id) => found.split(",").includes(id))
		&& (found.split(",").join(",") === before.split(",").filter((id) => found.split(",").includes(id)).join(","));
	assert.ok([before, next].includes(found) || victimsGone || ((found === "") && before.split(",").every((id) => !keep.includes(id))),
		`${tear}, cut ${cut} in step ${done + 1}: found [${found}], allowed [${before}], [${next}] or [${before}] without some of its victims`);
}

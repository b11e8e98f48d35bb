import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import Counter from "store/counter";
import { maxRecordPayload, readPlainRecord, readRecord, recordRegion, writePlainRecord, writeRecord } from "store/record";
import { Sectors } from "store/layout";
import type { FlashRegion } from "store/flash-region";
import { crc32 } from "util/bytes";
import { MemoryOutbox } from "store/outbox";
import type { OutboundEvent } from "store/outbox";
import { NorFlash, PowerCut } from "../support/nor-flash.js";
import type { Tear } from "../support/nor-flash.js";

const sector = 4096;
const tears: Tear[] = ["none", "half", "bits"];

/** The doorward partition (store/layout) on `flash`, authenticated with `key` as the device does (HMAC-SHA-256). */
function doorward(flash: NorFlash, key: Uint8Array): FlashRegion {
	return recordRegion(flash, "doorward", Sectors, (message) => new Uint8Array(createHmac("sha256", key).update(message).digest()));
}

const deviceKey = randomBytes(32);
const otherDeviceKey = randomBytes(32);

/** Rewrites the CRC of the record in `index` over what it now holds: what a forger does. */
function fixCrc(flash: NorFlash, index: number): void {
	const view = new DataView(flash.bytes.buffer, index * sector);
	const length = view.getUint32(8);
	view.setUint32(4, crc32(flash.bytes.subarray(index * sector + 8, index * sector + 44 + length)));
}

test("records: round trip, size limit, an erased sector reads as absent", () => {
	const flash = new NorFlash(16);
	const records = doorward(flash, deviceKey);
	const payload = new TextEncoder().encode("{\"hello\":1}");
	writeRecord(records, Sectors.identity, payload);
	assert.deepEqual(readRecord(records, Sectors.identity), payload);
	assert.equal(readRecord(records, Sectors.configuration), undefined, "erased sector");
	assert.throws(() => writeRecord(records, Sectors.configuration, new Uint8Array(maxRecordPayload(records) + 1)), /do not fit/);
	writeRecord(records, Sectors.configuration, new Uint8Array(maxRecordPayload(records)).fill(7));
	assert.equal(readRecord(records, Sectors.configuration)!.length, maxRecordPayload(records));
	// Rewritten in place.
	writeRecord(records, Sectors.identity, Uint8Array.of(1));
	assert.deepEqual(readRecord(records, Sectors.identity), Uint8Array.of(1));
	assert.throws(() => readRecord(records, 9), /sector 9 holds no record type/);
	assert.throws(() => readRecord(flash, Sectors.identity), /opened without its record key/, "a region without the key");
	assert.throws(() => writeRecord(flash, Sectors.identity, payload), /opened without its record key/);
});

test("a record cut at any flash operation, new or rewritten, reads as absent, the old or the new value: never refused", () => {
	const old = new TextEncoder().encode("{\"old\":true}");
	const next = new TextEncoder().encode("{\"new\":\"a longer payload that spans more than half of the header and some\"}");
	for (const tear of tears) {
		for (const rewrite of [false, true]) {
			for (let cut = 0; ; cut++) {
				const flash = new NorFlash(16, cut + 1);
				const records = doorward(flash, deviceKey);
				if (rewrite)
					writeRecord(records, Sectors.configuration, old);
				flash.cutAfter = flash.operations + cut;
				flash.tear = tear;
				let finished = true;
				try {
					writeRecord(records, Sectors.configuration, next);
				}
				catch (error) {
					assert.ok(error instanceof PowerCut, String(error));
					finished = false;
				}
				flash.cutAfter = Infinity;
				const found = readRecord(records, Sectors.configuration);
				const where = `${tear}, ${rewrite ? "rewrite" : "new"}, cut after ${cut}`;
				if (finished) {
					assert.deepEqual(found, next, where);
					assert.ok(cut >= (rewrite ? 4 : 2), `${where}: the write takes ${rewrite ? 4 : 2} operations`);
					break;
				}
				assert.ok((found === undefined) || (rewrite && (Buffer.compare(found, old) === 0)), `${where}: read ${found && Buffer.from(found).toString()}`);
				// The next write after the cut works as on a clean sector.
				writeRecord(records, Sectors.configuration, next);
				assert.deepEqual(readRecord(records, Sectors.configuration), next, `${where}: written again`);
			}
		}
	}
});

test("a forged record of each kind (valid CRC, wrong MAC) is refused with the reason, and nothing is returned", () => {
	const kinds = Object.entries(Sectors).filter(([name]) => name !== "sequence");
	assert.deepEqual(kinds.map(([name]) => name), ["configuration", "identity", "clientCertificate", "provisioningLock", "updateRoot", "updateRootCopy", "timeFloor"]);
	for (const [name, index] of kinds) {
		const flash = new NorFlash(16);
		const records = doorward(flash, deviceKey);
		writeRecord(records, index, new TextEncoder().encode(`{"genuine":"${name}"}`));
		// One payload byte changed, the CRC made right again.
		flash.bytes[index * sector + 44 + 3] ^= 0x20;
		fixCrc(flash, index);
		assert.throws(() => readRecord(records, index), new RegExp(`^Error: record: doorward sector ${index} \\(${name}\\) does not authenticate: forged`));
		// Made from nothing: a payload, a CRC, a MAC guessed.
		const forged = doorward(new NorFlash(16), randomBytes(32));
		writeRecord(forged, index, new TextEncoder().encode(`{"forged":"${name}"}`));
		flash.bytes.set(new Uint8Array(forged.read(index * sector, sector)), index * sector);
		assert.throws(() => readRecord(records, index), /does not authenticate/, `${name}: another key's record`);
	}
});

test("a record moved to another sector, or copied from another device, does not authenticate", () => {
	const flash = new NorFlash(16);
	const records = doorward(flash, deviceKey);
	const lock = new TextEncoder().encode("{\"locked\":true}");
	writeRecord(records, Sectors.provisioningLock, lock);
	// The lock's record copied into the update root's sector, and into the configuration's.
	for (const target of [Sectors.updateRoot, Sectors.configuration]) {
		flash.bytes.copyWithin(target * sector, Sectors.provisioningLock * sector, (Sectors.provisioningLock + 1) * sector);
		assert.throws(() => readRecord(records, target), /does not authenticate/, `moved to ${target}`);
	}
	assert.deepEqual(readRecord(records, Sectors.provisioningLock), lock, "the original still reads");
	// The same record, written by another device into the same sector.
	const other = new NorFlash(16);
	writeRecord(doorward(other, otherDeviceKey), Sectors.provisioningLock, lock);
	flash.bytes.set(other.bytes.subarray(Sectors.provisioningLock * sector, (Sectors.provisioningLock + 1) * sector), Sectors.provisioningLock * sector);
	assert.throws(() => readRecord(records, Sectors.provisioningLock), /does not authenticate/, "another device's");
	// Another partition with the same key and layout: the partition is bound too.
	const outbox = new NorFlash(16);
	writeRecord(recordRegion(outbox, "outbox", Sectors, (message) => new Uint8Array(createHmac("sha256", deviceKey).update(message).digest())), Sectors.identity, lock);
	flash.bytes.set(outbox.bytes.subarray(Sectors.identity * sector, (Sectors.identity + 1) * sector), Sectors.identity * sector);
	assert.throws(() => readRecord(records, Sectors.identity), /does not authenticate/, "another partition's");
});

test("a changed record with its old CRC is refused as corrupt; an earlier firmware's record is refused, not migrated", () => {
	const flash = new NorFlash(16);
	const records = doorward(flash, deviceKey);
	writeRecord(records, Sectors.identity, Uint8Array.of(1, 2, 3));
	flash.bytes[Sectors.identity * sector + 44] &= 0xFE;
	assert.throws(() => readRecord(records, Sectors.identity), /^Error: record: doorward sector 1 \(identity\) is corrupt: its CRC does not match$/);
	flash.bytes[Sectors.identity * sector + 9] = 0x40; // the length
	assert.throws(() => readRecord(records, Sectors.identity), /is corrupt: a length of/);
	// The frame records had before they were authenticated: "DWR1", length, CRC, payload.
	writePlainRecord(flash, Sectors.configuration, new TextEncoder().encode("{\"broker\":{}}"));
	assert.throws(() => readRecord(records, Sectors.configuration), /format of earlier firmware, without a MAC: erase the flash/);
});

test("plain records (the simulator's sealed keystore entries): round trip, torn reads as absent, corrupt is refused", () => {
	const flash = new NorFlash(4);
	writePlainRecord(flash, 2, Uint8Array.of(9, 8, 7));
	assert.deepEqual(readPlainRecord(flash, 2), Uint8Array.of(9, 8, 7));
	assert.equal(readPlainRecord(flash, 1), undefined);
	for (const tear of tears) {
		for (let cut = 0; cut < 4; cut++) {
			const torn = new NorFlash(1, cut + 7);
			writePlainRecord(torn, 0, Uint8Array.of(1));
			torn.cutAfter = torn.operations + cut;
			torn.tear = tear;
			assert.throws(() => writePlainRecord(torn, 0, new Uint8Array(3000).fill(5)), PowerCut);
			const found = readPlainRecord(torn, 0);
			assert.ok((found === undefined) || (Buffer.compare(found, Uint8Array.of(1)) === 0), `${tear}, cut ${cut}`);
		}
	}
	flash.bytes[2 * sector + 12] ^= 1;
	assert.throws(() => readPlainRecord(flash, 2), /is corrupt: its CRC does not match/);
});

const slotsPerSector = sector / 32;

test("a counter cut at every flash operation never goes backwards, and always opens again", () => {
	// Far enough to roll over between the two sectors three times.
	const target = 3 * slotsPerSector + 10;
	const clean = new NorFlash(16);
	const counter = new Counter(doorward(clean, deviceKey), Sectors.sequence);
	for (let i = 0; i < target; i++)
		counter.increment();
	const operations = clean.operations;
	assert.equal(operations, target + 3, "one write an increment, one erase a rollover");
	for (const tear of tears) {
		for (let cut = 0; cut <= operations; cut++) {
			const flash = new NorFlash(16, cut + 1);
			const records = doorward(flash, deviceKey);
			flash.cutAfter = cut;
			flash.tear = tear;
			let acknowledged = 0;
			const live = new Counter(records, Sectors.sequence);
			try {
				for (let i = 0; i < target; i++)
					acknowledged = live.increment();
			}
			catch (error) {
				assert.ok(error instanceof PowerCut);
			}
			flash.cutAfter = Infinity;
			const where = `${tear}, cut at ${cut}`;
			const reopened = new Counter(records, Sectors.sequence);
			assert.ok(reopened.value >= acknowledged, `${where}: ${reopened.value} < ${acknowledged}`);
			assert.ok(reopened.value <= acknowledged + 1, `${where}: ${reopened.value} jumped past ${acknowledged + 1}`);
			// It goes on from there, across the torn slot and the next rollover, and opens again.
			const from = reopened.value;
			for (let i = 1; i <= slotsPerSector + 1; i++)
				assert.equal(reopened.increment(), from + i, where);
			assert.equal(new Counter(records, Sectors.sequence).value, from + slotsPerSector + 1, `${where}: reopened after going on`);
		}
	}
});

/** A counter at `value` on a new flash; returns the flash and its records. */
function counterAt(value: number, key = deviceKey): { flash: NorFlash; records: FlashRegion } {
	const flash = new NorFlash(16);
	const records = doorward(flash, key);
	const counter = new Counter(records, Sectors.sequence);
	for (let i = 0; i < value; i++)
		counter.increment();
	return { flash, records };
}

const slotAt = (index: number, slot: number) => Sectors.sequence * sector + index * sector + slot * 32;

test("a forged counter slot is refused with the reason, and its value never counts", () => {
	// A value changed in the middle of the run, its MAC kept.
	let { flash, records } = counterAt(10);
	new DataView(flash.bytes.buffer).setUint32(slotAt(0, 4), 4000);
	assert.throws(() => new Counter(records, Sectors.sequence), /^Error: counter: doorward sector 2 \(sequence\) slot 4 does not authenticate: forged/);
	// A larger value after the last one, with a MAC guessed: not taken for a torn write.
	({ flash, records } = counterAt(10));
	new DataView(flash.bytes.buffer).setUint32(slotAt(0, 10), 0x7FFFFFFF);
	flash.bytes.set(randomBytes(28), slotAt(0, 10) + 4);
	assert.throws(() => new Counter(records, Sectors.sequence), /slot 10 does not authenticate/);
	// A genuine slot copied to the next free slot.
	({ flash, records } = counterAt(10));
	flash.bytes.copyWithin(slotAt(0, 10), slotAt(0, 9), slotAt(0, 10));
	assert.throws(() => new Counter(records, Sectors.sequence), /slot 10 does not authenticate/);
	// Both sectors of another device.
	const other = counterAt(20, otherDeviceKey);
	({ flash, records } = counterAt(3));
	flash.bytes.set(other.flash.bytes.subarray(slotAt(0, 0), slotAt(2, 0)), slotAt(0, 0));
	assert.throws(() => new Counter(records, Sectors.sequence), /slot 0 does not authenticate/);
	// A slot written after a free one.
	({ flash, records } = counterAt(10));
	flash.bytes.copyWithin(slotAt(0, 12), slotAt(0, 9), slotAt(0, 10));
	assert.throws(() => new Counter(records, Sectors.sequence), /slot 10 is free, yet a later slot is written/);
});

test("a counter sector mixed from two of its own rounds is refused as out of order; junk in the stale sector never counts", () => {
	// Round one of sector 0: values 1 to 128; then sector 1; then sector 0 again from 257.
	const { flash, records } = counterAt(slotsPerSector);
	const roundOne = flash.bytes.slice(slotAt(0, 0), slotAt(1, 0));
	const counter = new Counter(records, Sectors.sequence);
	for (let i = 0; i < slotsPerSector + 10; i++)
		counter.increment();
	assert.equal(new Counter(records, Sectors.sequence).value, 2 * slotsPerSector + 10);
	// Round one's genuine first five slots over round two's (257 to 261), round two's 262 to 266 after them.
	flash.bytes.set(roundOne.subarray(0, 5 * 32), slotAt(0, 0));
	assert.throws(() => new Counter(records, Sectors.sequence), /slot 5 holds 262 after 5: out of order/);
	// Junk in the stale sector (sector 0, values 1 to 128): what a cut while erasing it could leave.
	const fresh = counterAt(slotsPerSector + 5);
	fresh.flash.bytes.set(randomBytes(sector), slotAt(0, 0));
	assert.equal(new Counter(fresh.records, Sectors.sequence).value, slotsPerSector + 5);
});

function event(kind: "ring" | "motion", id: number): OutboundEvent {
	return { eventId: String(id), kind, topic: "dw/t/ev", payload: [Uint8Array.of(id)] };
}

test("the outbox drops the oldest motion for a newer event and never a ring", () => {
	const outbox = new MemoryOutbox(3);
	assert.deepEqual(outbox.put(event("ring", 1)), []);
	assert.deepEqual(outbox.put(event("motion", 2)), []);
	assert.deepEqual(outbox.put(event("motion", 3)), []);
	assert.equal(outbox.put(event("ring", 4))[0]?.eventId, "2");
	assert.equal(outbox.put(event("motion", 5))[0]?.eventId, "3");
	assert.equal(outbox.put(event("ring", 6))[0]?.eventId, "5");
	assert.throws(() => outbox.put(event("ring", 7)), /full of rings/);
	assert.deepEqual([outbox.peek()?.eventId, outbox.length], ["1", 3]);
	assert.equal(outbox.remove("1"), true);
	assert.equal(outbox.remove("1"), false);
	assert.equal(outbox.peek()?.eventId, "4");
});

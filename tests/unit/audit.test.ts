/*
 * The audit log: the firmware's log on NOR flash (src/audit/log.ts) and the
 * phone's independent verifier (tools/phone/audit.ts). A dropped, reordered
 * or forked entry is reported; a forged one is refused; the bounded log drops
 * its oldest entries with a "dropped" entry and still verifies; a power cut at
 * every flash write and erase of an append leaves a valid log holding the
 * entry whole or not at all; and the order of a change (entry, events, then
 * the change) leaves no change without its entry.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { AuditLog } from "audit/log";
import { AuditSectors } from "store/layout";
import { Audit } from "audit/audit";
import type { AuditSink } from "audit/audit";
import type { AuditCrypto, AuditEntry } from "audit/entry";
import { verifyAuditChain } from "../../tools/phone/audit.js";
import { NorFlash, PowerCut } from "../support/nor-flash.js";
import type { Tear } from "../support/nor-flash.js";

const deviceId = "00112233445566778899aabbccddeeff";
const sectors = AuditSectors;

/** An Ed25519 key from a 32-byte seed, through node:crypto's PKCS#8 form. */
function ed25519Key(seedByte: number) {
	const seed = Buffer.alloc(32, seedByte);
	const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
	const publicKey = createPublicKey(privateKey);
	const raw = publicKey.export({ format: "der", type: "spki" }).subarray(12);
	return { privateKey, publicKey, raw: new Uint8Array(raw) };
}

const device = ed25519Key(7);
const stranger = ed25519Key(9);

const crypto = (key = device): AuditCrypto => ({
	sha256: (data) => new Uint8Array(createHash("sha256").update(data).digest()),
	sign: (message) => new Uint8Array(nodeSign(null, message, key.privateKey)),
});

function openLog(flash: NorFlash, key = device, time = { value: 1795800000000 }): AuditLog {
	return new AuditLog({
		flash, firstSector: sectors.first, sectorCount: sectors.count, deviceId, crypto: crypto(key),
		verify: (message, signature) => nodeVerify(null, message, device.publicKey, signature),
		clock: () => ({ time: time.value++, set: true }),
	});
}

const phoneCheck = (entries: readonly AuditEntry[]) => verifyAuditChain(entries.map((entry) => entry.bytes), device.raw, deviceId);

test("audit: entries chain, survive a reboot, and the phone verifies them", () => {
	const flash = new NorFlash(16);
	const log = openLog(flash);
	log.append("provisioned", { deviceId });
	log.append("admitted", { phone: "0011223344556677", name: "owner's phone" });
	log.append("removed", { phone: "0011223344556677" });
	const again = openLog(flash);
	assert.deepEqual(again.entries.map((entry) => [entry.seq, entry.type]), [[1, "provisioned"], [2, "admitted"], [3, "removed"]]);
	assert.deepEqual(again.entries[1].prev, again.entries[0].hash);
	assert.deepEqual(again.entries[0].prev, new Uint8Array(32));
	const report = phoneCheck(again.entries);
	assert.equal(report.ok, true, JSON.stringify(report.problems));
	assert.deepEqual(report.entries.map((entry) => entry.details.name), [undefined, "owner's phone", undefined]);
	assert.equal(report.entries[2].clockSet, true);
});

test("audit: the phone reports a dropped entry, a reordered entry and a fork, and refuses a forged one", () => {
	const log = openLog(new NorFlash(16));
	for (let i = 0; i < 5; i++)
		log.append("window", { reason: "button", n: i });
	const entries = [...log.entries];

	const dropped = phoneCheck([entries[0], entries[1], entries[3], entries[4]]);
	assert.deepEqual(dropped.problems.map((problem) => [problem.kind, problem.message]), [["gap", "gap: entry 3 is missing"]]);

	const reordered = phoneCheck([entries[0], entries[2], entries[1], entries[3], entries[4]]);
	assert.deepEqual(reordered.problems.map((problem) => [problem.kind, problem.message]), [["reordered", "reordered: entry 2 arrived after entry 3"]]);

	// A fork: the device's key signed a different entry 4 after entry 3 (a second log, or a rolled-back flash).
	const copy = new NorFlash(16);
	const original = openLog(copy);
	for (let i = 0; i < 3; i++)
		original.append("window", { reason: "button", n: i });
	const branchFlash = new NorFlash(16);
	branchFlash.bytes.set(copy.bytes);
	const branchA = openLog(copy).append("admitted", { phone: "aaaaaaaaaaaaaaaa" });
	const branchB = openLog(branchFlash).append("admitted", { phone: "bbbbbbbbbbbbbbbb" });
	const next = openLog(copy).append("removed", { phone: "aaaaaaaaaaaaaaaa" });
	const threeFirst = openLog(branchFlash).entries.slice(0, 3);
	const forked = phoneCheck([...threeFirst, branchA, branchB, next]);
	assert.deepEqual(forked.problems.map((problem) => problem.kind), ["fork"]);
	assert.match(forked.problems[0].message, /fork: two different entries 4/);
	// A fork the phone sees only through the chain: entry 5 of one branch after entry 4 of the other.
	const crossed = phoneCheck([...threeFirst, branchB, next]);
	assert.deepEqual(crossed.problems.map((problem) => [problem.kind, problem.message]), [["fork", "fork: entry 5 does not follow entry 4 (its prev is not that entry's hash)"]]);

	// Forged: signed by another key, or one byte changed after signing.
	const forgedLog = openLog(new NorFlash(16), stranger);
	const forgery = forgedLog.append("admitted", { phone: "cccccccccccccccc" });
	const refused = phoneCheck([entries[0], forgery]);
	assert.deepEqual(refused.problems.map((problem) => problem.kind), ["forged"]);
	assert.deepEqual(refused.entries.map((entry) => entry.seq), [1]);
	const tampered = entries[1].bytes.slice();
	tampered[tampered.length - 70] ^= 1; // inside the details
	const changed = verifyAuditChain([entries[0].bytes, tampered], device.raw, deviceId);
	assert.deepEqual(changed.problems.map((problem) => problem.kind), ["forged"]);
	// A duplicate (an entry's event queued twice after a power cut) is no problem.
	assert.equal(phoneCheck([entries[0], entries[1], entries[1], entries[2]]).ok, true);
});

test("audit: a log on flash with a forged entry does not open", () => {
	const flash = new NorFlash(16);
	openLog(flash).append("provisioned", { deviceId });
	openLog(flash, stranger).append("admitted", { phone: "dddddddddddddddd" });
	assert.throws(() => openLog(flash), /entry 2 on flash is not signed by this device/);
});

test("audit: the bounded log drops its oldest sector with a dropped entry, and still verifies", () => {
	const flash = new NorFlash(16);
	const log = openLog(flash);
	const all: AuditEntry[] = [];
	for (let i = 0; i < 120; i++)
		all.push(log.append("attempts", { failed: i, note: "x".repeat(100) }));
	const kept = openLog(flash).entries;
	assert.ok(kept[0].seq > 1, "the oldest entries were dropped");
	const markers = kept.filter((entry) => entry.type === "dropped");
	assert.ok(markers.length >= 1);
	const newest = markers[markers.length - 1];
	assert.ok(Number(newest.details.through) >= kept[0].seq - 1, "the newest dropped entry covers every dropped entry");
	const report = phoneCheck(kept);
	assert.equal(report.ok, true, JSON.stringify(report.problems));
	// Everything appended, and what is kept, is one history: no fork; the only holes are
	// the dropped entries that were themselves dropped later (their seqs are not in `all`).
	const history = [...all, ...kept.filter((entry) => !all.some((other) => other.seq === entry.seq))].sort((a, b) => a.seq - b.seq);
	const problems = phoneCheck(history).problems;
	assert.ok(problems.every((problem) => problem.kind === "gap"), JSON.stringify(problems));
	// Bounded: its sectors, and nothing outside them.
	assert.ok(flash.bytes.subarray(0, sectors.first * 4096).every((byte) => byte === 0xFF));
	assert.ok(flash.bytes.subarray((sectors.first + sectors.count) * 4096).every((byte) => byte === 0xFF));
	assert.ok(kept.length < 120);
});

/**
 * Every cut: a log with some entries (and, with `full`, its sectors all taken,
 * so the append drops one), then an append cut after each flash operation in
 * turn, with each tear. After it the log opens, verifies, and holds the entry
 * whole or not at all; the next append after the reboot verifies too.
 */
function sweep(full: boolean): number {
	let cuts = 0;
	for (const tear of ["none", "half", "bits"] as Tear[]) {
		const base = new NorFlash(16, 3);
		const setup = openLog(base);
		for (let i = 0; i < 3; i++)
			setup.append("attempts", { failed: i, note: "y".repeat(100) });
		// With `full`: fill until every sector is taken and the next append must take the oldest.
		for (let i = 3; full; i++) {
			const trial = new NorFlash(16);
			trial.bytes.set(base.bytes);
			openLog(trial).append("admitted", { phone: "eeeeeeeeeeeeeeee", name: "new phone" });
			if ((trial.operations > 2) && (openLog(base).entries[0].seq > 1))
				break;
			setup.append("attempts", { failed: i, note: "y".repeat(100) });
		}
		const before = openLog(base).entries;
		for (let cut = 0; ; cut++) {
			const flash = new NorFlash(16, cut + 11);
			flash.bytes.set(base.bytes);
			flash.tear = tear;
			flash.cutAfter = cut;
			flash.operations = 0;
			let completed = false;
			try {
				openLog(flash).append("admitted", { phone: "eeeeeeeeeeeeeeee", name: "new phone" });
				completed = true;
			}
			catch (error) {
				if (!(error instanceof PowerCut))
					throw error;
			}
			flash.cutAfter = Infinity;
			const after = openLog(flash);
			const entries = after.entries;
			const report = phoneCheck(entries);
			assert.equal(report.ok, true, `${tear} cut ${cut}: ${JSON.stringify(report.problems)}`);
			const admitted = entries.filter((entry) => entry.type === "admitted");
			assert.ok(admitted.length <= 1, `${tear} cut ${cut}`);
			if (completed)
				assert.equal(admitted.length, 1);
			const last = before[before.length - 1];
			assert.ok(entries.length && (entries[entries.length - 1].seq >= last.seq), `${tear} cut ${cut}: the newest entry before the cut survived`);
			const next = after.append("removed", { phone: "eeeeeeeeeeeeeeee" });
			assert.equal(phoneCheck(openLog(flash).entries).ok, true, `${tear} cut ${cut}, then an append`);
			assert.equal(next.seq, after.entries[after.entries.length - 2].seq + 1);
			if (completed)
				break;
			cuts++;
		}
	}
	return cuts;
}

test("audit: a power cut at every flash write of an append leaves a valid log", () => {
	assert.ok(sweep(false) >= 3 * 2, "an append is at least two writes");
});

test("audit: a power cut at every flash write and erase of an append that drops a sector leaves a valid log", () => {
	assert.ok(sweep(true) >= 3 * 6, "a dropping append clears, erases, heads the sector and writes two entries");
});

test("audit: the order of a change, entry then events then the change, and recovery at boot", () => {
	const flash = new NorFlash(16);
	const delivered: [number, number][] = [];
	const sink: AuditSink = { deliver: (entry, readers) => delivered.push([entry.seq, readers.length]) };
	let applied = 0;
	const audit = new Audit(openLog(flash), {
		deliver: (entry, readers) => {
			assert.equal(applied, 0, "delivered before the change is applied");
			assert.ok(openLog(flash).entries.some((stored) => stored.seq === entry.seq), "the entry is on flash before its events");
			sink.deliver(entry, readers);
		},
	});
	audit.record({ type: "removed", phone: "0011223344556677" }, { readers: [{ publicKey: new Uint8Array(32) }], notice: { publicKey: new Uint8Array(32).fill(1) }, apply: () => applied++ });
	assert.equal(applied, 1);
	assert.deepEqual(delivered, [[1, 2]], "one event, to the phone that stays and to the removed one");
	assert.throws(() => audit.record({ type: "dropped", through: 3 }), /only the log writes dropped entries/);

	// A cut after the entry, before the change: recover() finishes it, and only when it is unapplied.
	const state = { applied: false };
	const cut = new Audit(openLog(flash), sink);
	assert.throws(() => cut.record({ type: "admitted", phone: "8899aabbccddeeff" }, { readers: [], apply: () => { throw new PowerCut("cut before the keystore write"); } }));
	const booted = new Audit(openLog(flash), sink);
	const finished = booted.recover((entry) => (((entry.type === "admitted") && !state.applied) ? { readers: [{ publicKey: new Uint8Array(32) }], apply: () => (state.applied = true) } : undefined));
	assert.equal(finished?.seq, 2);
	assert.equal(state.applied, true);
	assert.deepEqual(delivered.slice(1), [[2, 1]]);
	assert.equal(new Audit(openLog(flash), sink).recover((entry) => (((entry.type === "admitted") && !state.applied) ? {} : undefined)), undefined);
});

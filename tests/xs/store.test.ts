/*
 * The stores on the simulator's real file-backed flash, as they run on the
 * device: the doorward partition opened with its record key from the
 * keystore (device/keys), every kind of record forged and refused by the
 * module that reads it, and the counter (on sectors the firmware leaves to
 * tests).
 */
import { test, equal, ok, throws } from "tests/harness";
import Flash from "flash";
import { read } from "hardware/keystore";
import { bytes } from "hardware/random";
import { hmac } from "hardware/crypto";
import Counter from "store/counter";
import { flashRegion } from "store/flash-region";
import type { FlashRegion } from "store/flash-region";
import { readRecord, recordRegion, writeRecord } from "store/record";
import { Sectors } from "store/layout";
import { openRecords } from "device/keys";
import { loadConfiguration, parseConfiguration, storeConfiguration } from "device/configuration";
import { loadOrCreateIdentity } from "device/identity";
import { provisioningLocked } from "device/tls-identity";
import { installFactoryRoot, trustedRoot } from "update/ota";
import { crc32, utf8Encode } from "util/bytes";

const sectorSize = 4096;
const scratch = 8; // sectors 8..11 of the doorward partition are not used by the firmware

const raw = () => flashRegion(new Flash("doorward"));

/** Changes one payload byte of the record in `sector` and makes its CRC right again, as a forger with the flash would. */
function forge(flash: FlashRegion, sector: number): void {
	const image = new Uint8Array(flash.read(sector * sectorSize, sectorSize));
	const view = new DataView(image.buffer);
	const length = view.getUint32(8);
	ok(length > 4, `sector ${sector} holds a record`);
	image[44 + 2] ^= 0x01;
	view.setUint32(4, crc32(image.subarray(8, 44 + length)));
	flash.erase(sector);
	flash.write(sector * sectorSize, sectorSize, image);
}

function copySector(flash: FlashRegion, from: number, to: number): void {
	const image = flash.read(from * sectorSize, sectorSize);
	flash.erase(to);
	flash.write(to * sectorSize, sectorSize, image);
}

// This runs first, on the blank flash the test starts with.
test("the record key comes before any record: a written partition without one is refused, and no key is made over it", () => {
	const flash = raw();
	equal(read("record-key"), undefined, "no record key yet");
	flash.write(Sectors.identity * sectorSize, 4, Uint8Array.of(0x44, 0x57, 0x52, 0x31)); // an earlier firmware's "DWR1"
	throws(() => openRecords(flash, "doorward"), /^records: doorward sector 1 is written, but the keystore has no record key/);
	equal(read("record-key"), undefined, "still none");
	flash.erase(Sectors.identity);
	const first = openRecords(flash, "doorward");
	ok(first.created, "made on the first boot");
	equal(read("record-key")!.length, 32, "32 bytes in the keystore");
	ok(!openRecords(flash, "doorward").created, "kept");
});

test("a record reads back, and a torn or erased one reads as absent", () => {
	const key = bytes(32);
	const flash = recordRegion(raw(), "doorward", { scratch }, (message) => hmac("SHA-256", key, message));
	const payload = Uint8Array.of(1, 2, 3, 250);
	writeRecord(flash, scratch, payload);
	const found = readRecord(flash, scratch)!;
	equal(Array.from(found).join(","), "1,2,3,250", "payload");
	// The commit word cleared and the sector erased: what a rewrite cut at its erase leaves.
	flash.write(scratch * sectorSize, 4, new Uint8Array(4));
	equal(readRecord(flash, scratch), undefined, "commit word cleared");
	flash.erase(scratch);
	equal(readRecord(flash, scratch), undefined, "erased");
	// A power cut after the body, before the commit word: nothing valid.
	writeRecord(flash, scratch, payload);
	const image = new Uint8Array(flash.read(scratch * sectorSize, 64));
	flash.erase(scratch);
	flash.write(scratch * sectorSize + 4, 60, image.subarray(4));
	equal(readRecord(flash, scratch), undefined, "torn");
	// Half of the commit word.
	flash.write(scratch * sectorSize, 2, image.subarray(0, 2));
	equal(readRecord(flash, scratch), undefined, "half a commit word");
	// The same record under another key: another device's.
	flash.write(scratch * sectorSize, 4, image.subarray(0, 4));
	ok(readRecord(flash, scratch) !== undefined, "whole again");
	const other = bytes(32);
	throws(() => readRecord(recordRegion(raw(), "doorward", { scratch }, (message) => hmac("SHA-256", other, message)), scratch), /does not authenticate/, "another key");
});

test("a forged record of each kind is refused by the module that reads it, with the reason, and not adopted", () => {
	const { records } = openRecords(raw(), "doorward");
	const flash = raw();
	// The genuine records, as provisioning writes them.
	storeConfiguration(records, parseConfiguration(utf8Encode(JSON.stringify({ broker: { address: "broker.example", port: 8883 }, model: "doorward-test" }))));
	const { identity } = loadOrCreateIdentity(records);
	writeRecord(records, Sectors.clientCertificate, utf8Encode("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"));
	writeRecord(records, Sectors.provisioningLock, utf8Encode(JSON.stringify({ locked: true, deviceId: identity.deviceId })));
	writeRecord(records, Sectors.updateRoot, utf8Encode("a root, as far as the record goes"));
	equal(loadConfiguration(records)!.broker.address, "broker.example", "genuine configuration");
	ok(provisioningLocked(records), "genuine lock");

	const refused = (sector: number, name: string) => new RegExp(`^record: doorward sector ${sector} \\(${name}\\) does not authenticate: forged`);
	forge(flash, Sectors.configuration);
	throws(() => loadConfiguration(records), refused(Sectors.configuration, "configuration"), "configuration");
	forge(flash, Sectors.identity);
	throws(() => loadOrCreateIdentity(records), refused(Sectors.identity, "identity"), "identity");
	forge(flash, Sectors.clientCertificate);
	throws(() => readRecord(records, Sectors.clientCertificate), refused(Sectors.clientCertificate, "clientCertificate"), "client certificate");
	forge(flash, Sectors.provisioningLock);
	throws(() => provisioningLocked(records), refused(Sectors.provisioningLock, "provisioningLock"), "provisioning lock");
	forge(flash, Sectors.updateRoot);
	throws(() => trustedRoot(records), refused(Sectors.updateRoot, "updateRoot"), "update root");
	// Not taken for absent: no new root over it, no new identity over it.
	throws(() => installFactoryRoot(records, new Uint8Array(100)), refused(Sectors.updateRoot, "updateRoot"), "a factory root over a forged one");
	const forgedIdentity = new Uint8Array(flash.read(Sectors.identity * sectorSize, sectorSize));
	throws(() => loadOrCreateIdentity(records), /does not authenticate/, "identity again");
	const after = new Uint8Array(flash.read(Sectors.identity * sectorSize, sectorSize));
	ok(after.every((byte, i) => byte === forgedIdentity[i]), "the forged identity record is left as it is");
	// And the boot's check stops at the first.
	throws(() => openRecords(raw(), "doorward"), refused(Sectors.configuration, "configuration"), "the boot check");
	for (const sector of [Sectors.configuration, Sectors.identity, Sectors.clientCertificate, Sectors.provisioningLock, Sectors.updateRoot])
		flash.erase(sector);
	ok(openRecords(raw(), "doorward").records !== undefined, "an erased partition opens: absent, not refused");
});

test("a record copied to another sector is refused: an identity record in the lock's sector does not lock", () => {
	const { records } = openRecords(raw(), "doorward");
	const flash = raw();
	loadOrCreateIdentity(records);
	equal(provisioningLocked(records), false, "not locked");
	copySector(flash, Sectors.identity, Sectors.provisioningLock);
	throws(() => provisioningLocked(records), /^record: doorward sector 5 \(provisioningLock\) does not authenticate/, "copied");
	flash.erase(Sectors.provisioningLock);
	flash.erase(Sectors.identity);
});

test("the counter survives being reopened and rolls over between its sectors; a forged slot is refused", () => {
	const key = bytes(32);
	const flash = recordRegion(raw(), "doorward", { scratch, counter: scratch + 2 }, (message) => hmac("SHA-256", key, message));
	flash.erase(scratch + 2);
	flash.erase(scratch + 3);
	let counter = new Counter(flash, scratch + 2);
	equal(counter.value, 0, "starts at 0");
	for (let i = 1; i <= 300; i++)
		equal(counter.increment(), i, "increment");
	counter = new Counter(flash, scratch + 2);
	equal(counter.value, 300, "reopened after two rollovers (128 slots a sector)");
	ok(counter.increment() === 301, "continues");
	// Slot 10 of the active sector (257 onwards) changed from 267 to 266, a bit cleared in place, its MAC kept.
	const at = (scratch + 2) * sectorSize + 10 * 32;
	equal(new DataView(flash.read(at, 4)).getUint32(0), 267, "slot 10");
	flash.write(at + 3, 1, Uint8Array.of(0xFE));
	throws(() => new Counter(flash, scratch + 2), /^counter: doorward sector 10 \(counter\) slot 10 does not authenticate/, "forged slot");
	throws(() => new Counter(raw(), scratch + 2), /opened without its record key/, "no key");
});

/*
 * The entry store under lin's and the simulator's keystores
 * (hardware/keystore/records entryStore) over NOR flash in memory whose
 * power cut tears the cut write or erase as a real chip may: a random part
 * of its bits (seeded, so a failure repeats), besides its first half as the
 * host's DOORWARD_FLASH_CUT_AFTER does (tests/integration/keystore-cuts) and
 * none of it (a cut just before the operation).
 * After a cut at every operation, reopened as after a boot, each entry holds
 * its old value or its new one; two records of one entry resolve to the
 * newer; a corrupt record makes an entry without a good one an error, not
 * absent; a partition without a spare sector is refused.
 */
import { bytesEqual, equal, ok, test, throws } from "tests/harness";
import { entryStore } from "hardware/keystore/records";
import { entryNames } from "hardware/keystore/common";
import type { FlashRegion } from "store/flash-region";
import Flash from "flash";

class PowerCut extends Error {
	override readonly name = "PowerCut";
}

/** NOR flash: erase sets a 4 KiB sector to 0xFF, a write only clears bits; the operation after `cutAfter` is torn and throws. */
class TornFlash implements FlashRegion {
	readonly blockSize = 4096;
	readonly bytes: Uint8Array;
	operations = 0;
	cutAfter = Infinity;
	/** What the cut operation leaves: a random part of its bits, its first half (as the host does), or nothing of it. */
	tear: "bits" | "half" | "none" = "bits";
	#seed: number;

	constructor(sectors: number, seed: number) {
		this.bytes = new Uint8Array(sectors * this.blockSize).fill(0xFF);
		this.#seed = seed;
	}

	get byteLength(): number {
		return this.bytes.length;
	}

	#random(): number {
		// xorshift32: a repeatable tear for a given seed.
		let x = this.#seed;
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		this.#seed = x >>> 0;
		return this.#seed;
	}

	#check(offset: number, byteLength: number): void {
		if (!(offset >= 0) || !(byteLength > 0) || (offset + byteLength > this.bytes.length))
			throw new RangeError(`flash: ${byteLength} bytes at ${offset} are outside`);
	}

	/** Counts the operation; past the cut, does a random part of it (`target` gives each byte's value) and throws. */
	#tick(offset: number, byteLength: number, target: (i: number) => number): void {
		if (++this.operations <= this.cutAfter)
			return;
		if (this.operations === this.cutAfter + 1) {
			for (let i = 0; i < byteLength; i++) {
				const mask = (this.tear === "bits") ? this.#random() & 0xFF : ((this.tear === "half") && (i < byteLength / 2)) ? 0xFF : 0;
				const before = this.bytes[offset + i];
				this.bytes[offset + i] = (before & ~mask) | (target(i) & mask);
			}
		}
		throw new PowerCut("power cut");
	}

	read(offset: number, byteLength: number): ArrayBuffer {
		this.#check(offset, byteLength);
		return this.bytes.slice(offset, offset + byteLength).buffer;
	}

	write(offset: number, byteLength: number, buffer: ArrayBuffer | Uint8Array): void {
		this.#check(offset, byteLength);
		const data = (buffer instanceof Uint8Array) ? buffer : new Uint8Array(buffer);
		this.#tick(offset, byteLength, (i) => this.bytes[offset + i] & data[i]);
		for (let i = 0; i < byteLength; i++)
			this.bytes[offset + i] &= data[i];
	}

	erase(sector: number): void {
		const offset = sector * this.blockSize;
		this.#check(offset, this.blockSize);
		this.#tick(offset, this.blockSize, () => 0xFF);
		this.bytes.fill(0xFF, offset, offset + this.blockSize);
	}

	copy(): TornFlash {
		const other = new TornFlash(this.bytes.length / this.blockSize, this.#seed);
		other.bytes.set(this.bytes);
		return other;
	}
}

function value(seed: number, length: number): Uint8Array {
	return new Uint8Array(length).map((_, i) => (seed * 131 + i * 7 + (i >> 8)) & 0xFF);
}

function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
	if (!a || !b)
		return a === b;
	return (a.length === b.length) && a.every((byte, i) => byte === b[i]);
}

const sectors = entryNames.length + 1;

test("a cut at every write and erase, tearing random bits, half or nothing of it, leaves every entry old or new, and the store writable", () => {
	let cuts = 0;
	for (let seed = 1; seed <= 8; seed++) {
		const template = new TornFlash(sectors, seed * 2654435761 >>> 0 || 1);
		const old = new Map<string, Uint8Array | undefined>();
		const store = entryStore(template);
		entryNames.forEach((name, index) => {
			if (index === 2)
				return; // one entry never written
			// Written twice, so the spare has moved and an erased copy lies about.
			store.write(name, value(index, 10));
			const stored = value(10 * seed + index, (index === 4) ? 4000 : 40 + 300 * index);
			store.write(name, stored);
			old.set(name, stored);
		});
		const writes: [string, Uint8Array][] = entryNames.slice(0, 4).map((name, index) => [name, value(100 * seed + index, (index === 1) ? 4000 : 17 + 211 * index)]);
		for (let cut = 0; ; cut++) {
			const flash = template.copy();
			flash.cutAfter = cut;
			flash.tear = (["bits", "half", "none"] as const)[seed % 3];
			let done = 0;
			try {
				const cutting = entryStore(flash);
				for (const [name, stored] of writes) {
					cutting.write(name, stored);
					done++;
				}
			}
			catch (error) {
				if (!(error instanceof PowerCut))
					throw error;
			}
			if (flash.operations <= cut)
				break;
			cuts++;
			flash.cutAfter = Infinity;
			const after = entryStore(flash);
			writes.forEach(([name, stored], index) => {
				const got = after.read(name);
				if (index < done)
					ok(same(got, stored), `seed ${seed}, cut ${cut}: ${name}'s write returned, and the entry is new`);
				else if (index > done)
					ok(same(got, old.get(name)), `seed ${seed}, cut ${cut}: ${name}, not yet written, is old`);
				else
					ok(same(got, stored) || same(got, old.get(name)), `seed ${seed}, cut ${cut}: ${name}, cut while written, is old or new`);
			});
			for (const name of entryNames.slice(4))
				ok(same(after.read(name), old.get(name)), `seed ${seed}, cut ${cut}: ${name} as it was`);
			for (const [index, name] of entryNames.entries())
				after.write(name, value(7 + index, 3000));
			const reopened = entryStore(flash);
			for (const [index, name] of entryNames.entries())
				bytesEqual(reopened.read(name)!, value(7 + index, 3000), `seed ${seed}, cut ${cut}: ${name} written again`);
		}
	}
	ok(cuts >= 8 * 14, `${cuts} cuts`);
});

test("of two whole records of one entry, the later generation is the value; an older copy cannot win", () => {
	const flash = new TornFlash(sectors, 5);
	const store = entryStore(flash);
	store.write("wifi", value(1, 20));
	store.write("wifi", value(2, 20));
	// Stop the next write after its record is committed, before the old one is cleared: two plain records of wifi.
	flash.cutAfter = flash.operations + 2;
	flash.tear = "none";
	throws(() => store.write("wifi", value(3, 20)), /power cut/, "the cut");
	flash.cutAfter = Infinity;
	bytesEqual(entryStore(flash).read("wifi")!, value(3, 20), "the newer of the two");
});

test("a corrupt record makes an entry without a good one an error, not absent; a partition without a spare is refused", () => {
	const flash = new TornFlash(sectors, 9);
	const store = entryStore(flash);
	store.write("device-keys", value(1, 64));
	store.write("recipients", value(2, 64));
	// Flip a payload bit of the first record (sector 0): its CRC fails.
	flash.bytes[40] ^= 0x01;
	const reopened = entryStore(flash);
	bytesEqual(reopened.read("recipients")!, value(2, 64), "an entry with a good record reads");
	throws(() => reopened.read("device-keys"), /no good record.*CRC does not match/, "the decayed entry");
	throws(() => reopened.read("tls-key"), /no good record/, "an entry never written cannot be told from the corrupt one");
	reopened.write("device-keys", value(3, 64));
	bytesEqual(entryStore(flash).read("device-keys")!, value(3, 64), "written again");
	throws(() => entryStore(new TornFlash(entryNames.length, 1)), /6 sectors; 6 entries need 7, one spare/, "six sectors");
	equal(new Flash("nvs").byteLength, sectors * 4096, "the board's nvs partition: a sector per entry and the spare");
});

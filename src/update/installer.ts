/*
 * Installs a signed bundle into the inactive slot, as it streams in:
 * the header is verified before the slot is touched (BundleReader), the image
 * is hashed as it passes and never exceeds the manifest's size, and it is
 * written a sector at a time (erase, then write). At the end the slot is read
 * back and hashed again; only if that matches the signed manifest is it
 * activated (booted next, on trial). Nothing here marks it confirmed: the new
 * image does that itself after its self-test (src/main.ts).
 */
import { Hash } from "hardware/crypto";
import { equal, toHex } from "util/bytes";
import type { FlashRegion } from "store/flash-region";
import { UpdateError, refuse } from "./errors";
import { formatVersionString } from "./format";
import type { Manifest } from "./format";
import { BundleReader } from "./stream";
import type { DeviceState, RootListener, VerifiedHeader } from "./trust";

export interface InstalledImage {
	readonly manifest: Manifest;
	readonly header: VerifiedHeader;
}

export class Installer {
	readonly #slot: FlashRegion;
	readonly #reader: BundleReader;
	readonly #page: Uint8Array;
	#filled = 0;
	#written = 0;
	#done = false;

	/** `onRoot` stores a root update from the bundle's header once it verified, before any image byte is written. */
	constructor(device: DeviceState, slot: FlashRegion, onRoot?: RootListener) {
		this.#slot = slot;
		this.#reader = new BundleReader(device, onRoot);
		this.#page = new Uint8Array(slot.blockSize);
	}

	/** Image bytes received so far. */
	get received(): number {
		return this.#written + this.#filled;
	}

	/** The next piece of the bundle, of any size. Throws an UpdateError on refusal. */
	push(chunk: Uint8Array): void {
		if (this.#done)
			throw new Error("Installer: push() after finish()");
		const image = this.#reader.push(chunk);
		if (image.length && (this.#reader.header!.manifest.imageSize > this.#slot.byteLength))
			refuse("too-long", `image of ${this.#reader.header!.manifest.imageSize} bytes; the slot holds ${this.#slot.byteLength}`);
		let rest = image;
		while (rest.length) {
			const take = Math.min(rest.length, this.#page.length - this.#filled);
			this.#page.set(rest.subarray(0, take), this.#filled);
			this.#filled += take;
			rest = rest.subarray(take);
			if (this.#filled === this.#page.length)
				this.#flush();
		}
	}

	/** The end of the bundle: final checks, the slot read back and hashed again. Returns what to activate. */
	finish(): InstalledImage {
		if (this.#done)
			throw new Error("Installer: finish() called twice");
		this.#done = true;
		const header = this.#reader.finish();
		if (this.#filled)
			this.#flush();
		const manifest = header.manifest;
		// Verified again, from flash, before it may become bootable.
		const hash = new Hash("SHA-256");
		const block = this.#slot.blockSize;
		for (let offset = 0; offset < manifest.imageSize; offset += block) {
			const length = Math.min(block, manifest.imageSize - offset);
			hash.update(new Uint8Array(this.#slot.read(offset, length)));
		}
		const actual = hash.finish();
		if (!equal(actual, manifest.imageDigest))
			refuse("digest-mismatch", `slot read back: SHA-256 ${toHex(actual)}; the manifest says ${toHex(manifest.imageDigest)}`);
		return { manifest, header };
	}

	#flush(): void {
		const sector = this.#written / this.#page.length;
		this.#slot.erase(sector);
		this.#slot.write(this.#written, this.#filled, this.#filled === this.#page.length ? this.#page : this.#page.subarray(0, this.#filled));
		this.#written += this.#filled;
		this.#filled = 0;
	}
}

export function describe(manifest: Manifest): string {
	return `${formatVersionString(manifest.version)} (security version ${manifest.securityVersion}, ${manifest.imageSize} bytes)`;
}

export function reasonOf(error: unknown): string {
	return (error instanceof UpdateError) ? error.reason : "error";
}

/*
 * Streaming verification, for a slot writer that receives an update in
 * pieces and cannot hold it: ImageVerifier hashes image chunks of any size
 * as they pass and never lets more than the manifest's size through;
 * BundleReader splits a whole bundle stream into its header (verified before
 * a single image byte is released) and its image.
 *
 * Image bytes that have passed are NOT yet trusted: the writer may put them
 * in the inactive slot, but must not mark that slot bootable until finish()
 * has returned. After any refusal the object refuses everything after it
 * with the same error.
 */
import { Hash } from "hardware/crypto";
import { equal, toHex } from "util/bytes";
import { UpdateError, refuse } from "./errors";
import { parseBundlePrefix, prefixLength } from "./format";
import type { Manifest } from "./format";
import { verifyBundleHeader } from "./trust";
import type { DeviceState, RootListener, VerifiedHeader } from "./trust";

/** Runs `body`; an UpdateError it throws becomes the object's failure, kept and rethrown ever after. */
abstract class Refusing {
	#failure: UpdateError | undefined;

	protected guard<T>(body: () => T): T {
		if (this.#failure)
			throw this.#failure;
		try {
			return body();
		}
		catch (error) {
			if (error instanceof UpdateError) {
				this.#failure = error;
				this.failed();
			}
			throw error;
		}
	}

	/** Releases what the object holds, once it has refused. */
	protected abstract failed(): void;
}

export class ImageVerifier extends Refusing {
	readonly size: number;
	readonly #expected: Uint8Array;
	#hash: Hash | undefined = new Hash("SHA-256");
	#received = 0;

	constructor(manifest: Manifest) {
		super();
		this.size = manifest.imageSize;
		this.#expected = manifest.imageDigest;
	}

	/** Image bytes received so far. */
	get received(): number {
		return this.#received;
	}

	/**
	 * Takes the next chunk. Refuses ("too-long") a chunk that would go past the
	 * manifest's size, before hashing it, so the caller writes none of it.
	 */
	update(chunk: Uint8Array): void {
		this.guard(() => {
			if (!(chunk instanceof Uint8Array))
				throw new TypeError("ImageVerifier: chunks are Uint8Arrays");
			const hash = this.#hash;
			if (!hash)
				throw new Error("ImageVerifier: update() after finish()");
			if (chunk.length > this.size - this.#received)
				refuse("too-long", `image: ${this.#received + chunk.length} bytes or more; the manifest says ${this.size}`);
			hash.update(chunk);
			this.#received += chunk.length;
		});
	}

	/** The final check: exactly the manifest's size, and its SHA-256. */
	finish(): void {
		this.guard(() => {
			const hash = this.#hash;
			if (!hash)
				throw new Error("ImageVerifier: finish() called twice");
			if (this.#received < this.size)
				refuse("truncated", `image: ${this.#received} bytes; the manifest says ${this.size}`);
			this.#hash = undefined;
			const actual = hash.finish();
			if (!equal(actual, this.#expected))
				refuse("digest-mismatch", `image: SHA-256 ${toHex(actual)}; the manifest says ${toHex(this.#expected)}`);
		});
	}

	protected failed(): void {
		this.#hash?.finish();	// releases the native hash state now rather than at garbage collection
		this.#hash = undefined;
	}
}

/**
 * A whole bundle as a stream. push() returns the image bytes in each chunk
 * (a view of it, possibly empty); `header` is set, with the verified
 * manifest, before the first image byte is returned. finish() at the end.
 */
export class BundleReader extends Refusing {
	readonly #device: DeviceState;
	readonly #onRoot: RootListener | undefined;
	#buffer = new Uint8Array(prefixLength);
	#buffered = 0;
	#header: VerifiedHeader | undefined;
	#image: ImageVerifier | undefined;

	/** `onRoot` gets a root update the header carries, once it has verified (src/update/trust.ts verifyBundleHeader). */
	constructor(device: DeviceState, onRoot?: RootListener) {
		super();
		this.#device = device;
		this.#onRoot = onRoot;
	}

	get header(): VerifiedHeader | undefined {
		return this.#header;
	}

	push(chunk: Uint8Array): Uint8Array {
		return this.guard(() => {
			if (!(chunk instanceof Uint8Array))
				throw new TypeError("BundleReader: chunks are Uint8Arrays");
			let rest = chunk;
			if (!this.#image) {
				rest = this.#fillHeader(rest);
				if (!this.#image)
					return rest;	// empty: still inside the header
			}
			this.#image.update(rest);
			return rest;
		});
	}

	finish(): VerifiedHeader {
		return this.guard(() => {
			if (!this.#image || !this.#header)
				refuse("truncated", `bundle: ended after ${this.#buffered} bytes, inside its header`);
			this.#image.finish();
			return this.#header;
		});
	}

	/** Buffers header bytes (the prefix first, which bounds the rest); returns what follows the header. */
	#fillHeader(chunk: Uint8Array): Uint8Array {
		let rest = chunk;
		while (rest.length && !this.#image) {
			const take = Math.min(rest.length, this.#buffer.length - this.#buffered);
			this.#buffer.set(rest.subarray(0, take), this.#buffered);
			this.#buffered += take;
			rest = rest.subarray(take);
			if (this.#buffered < this.#buffer.length)
				break;
			if (this.#buffer.length === prefixLength) {
				const { headerLength } = parseBundlePrefix(this.#buffer);	// bounded before allocating
				const header = new Uint8Array(headerLength);
				header.set(this.#buffer);
				this.#buffer = header;
			}
			else {
				this.#header = verifyBundleHeader(this.#buffer, this.#device, this.#onRoot);
				this.#image = new ImageVerifier(this.#header.manifest);
			}
		}
		return rest;
	}

	protected failed(): void {
		this.#buffer = new Uint8Array(0);
	}
}

/** A whole bundle in memory (tests, tools): verifies all of it and returns the header. */
export function verifyBundle(bundle: Uint8Array, device: DeviceState): VerifiedHeader {
	const reader = new BundleReader(device);
	reader.push(bundle);
	return reader.finish();
}

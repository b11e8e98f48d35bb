/*
 * Burst capture: start the camera, keep the next N frames, stop it. A burst
 * that times out returns the frames it got and says why, so an event is never
 * lost to a camera fault; it only carries fewer frames. A camera that cannot
 * be opened (the driver's init failed) or that fails while read does not stop
 * the device either: each burst says why it has no frames, and the camera is
 * opened again at the next one.
 */
import Camera from "hardware/camera";
import Timer from "timer";
import type { ClipMetadata } from "./clip";
import { now } from "hardware/clock";
import { log } from "device/log";

export interface Burst {
	readonly metadata: ClipMetadata;
	readonly frames: readonly Uint8Array[];
}

interface Pending {
	readonly wanted: number;
	readonly frames: Uint8Array[];
	readonly startedAt: number;
	readonly resolve: (burst: Burst) => void;
	timer: ReturnType<typeof Timer.set> | undefined;
}

export default class Capture {
	#camera: Camera | undefined;
	#width: number;
	#height: number;
	#pending: Pending | undefined;

	constructor(width: number, height: number) {
		this.#width = width;
		this.#height = height;
		const unavailable = this.#open();
		if (unavailable)
			log.error(`${unavailable}: events will carry no frames until it opens (tried again at each burst)`);
	}

	/** The camera, opened now if it could not be before; why not, if it still cannot. */
	#open(): string | undefined {
		if (this.#camera)
			return undefined;
		try {
			this.#camera = new Camera({ width: this.#width, height: this.#height, onReadable: () => this.#drain() });
			return undefined;
		}
		catch (error) {
			return `camera: ${(error as Error).message}`;
		}
	}

	get busy(): boolean {
		return this.#pending !== undefined;
	}

	burst(frames: number, timeoutMs: number): Promise<Burst> {
		if (this.#pending)
			return Promise.reject(new Error("capture: a burst is already running"));
		return new Promise((resolve) => {
			const pending: Pending = { wanted: frames, frames: [], startedAt: now(), resolve, timer: undefined };
			this.#pending = pending;
			const unavailable = this.#open();
			if (unavailable) {
				this.#finish(unavailable);
				return;
			}
			pending.timer = Timer.set(() => {
				pending.timer = undefined;
				this.#finish(`timeout: ${pending.frames.length} of ${frames} frames in ${timeoutMs} ms`);
			}, timeoutMs);
			try {
				this.#camera!.start();
			}
			catch (error) {
				this.#finish(`camera: ${(error as Error).message}`);
			}
		});
	}

	close(): void {
		if (this.#pending)
			this.#finish("capture closed");
		this.#camera?.close();
		this.#camera = undefined;
	}

	/** The camera's callback: nothing may escape it, or the device resets. */
	#drain(): void {
		const pending = this.#pending;
		for (;;) {
			let frame: ArrayBuffer | undefined;
			try {
				frame = this.#camera?.read();
			}
			catch (error) {
				if (pending)
					this.#finish(`camera: ${(error as Error).message}`);
				return;
			}
			if (!frame)
				return;
			if (!pending)
				continue; // a frame that arrived after stop(): discard it
			pending.frames.push(new Uint8Array(frame));
			if (pending.frames.length === pending.wanted) {
				this.#finish();
				return;
			}
		}
	}

	#finish(cameraError?: string): void {
		const pending = this.#pending!;
		this.#pending = undefined;
		if (pending.timer)
			Timer.clear(pending.timer);
		let width = this.#width;
		let height = this.#height;
		if (this.#camera) {
			try {
				this.#camera.stop();
				width = this.#camera.width;
				height = this.#camera.height;
			}
			catch (error) {
				cameraError ??= `camera: ${(error as Error).message}`;
			}
		}
		const metadata: ClipMetadata = {
			width,
			height,
			format: "jpeg",
			frameCount: pending.frames.length,
			startedAt: pending.startedAt,
			...(cameraError ? { cameraError } : {}),
		};
		pending.resolve({ metadata, frames: pending.frames });
	}
}

Object.freeze(Capture.prototype);

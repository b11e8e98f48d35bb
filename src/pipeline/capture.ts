/*
 * Burst capture: start the camera, keep the next N frames, stop it. A burst
 * that times out returns the frames it got and says why, so an event is never
 * lost to a camera fault; it only carries fewer frames.
 */
import Camera from "hardware/camera";
import Timer from "timer";
import type { ClipMetadata } from "./clip";
import { now } from "hardware/clock";

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
	#camera: Camera;
	#pending: Pending | undefined;

	constructor(width: number, height: number) {
		this.#camera = new Camera({ width, height, onReadable: () => this.#drain() });
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
			pending.timer = Timer.set(() => {
				pending.timer = undefined;
				this.#finish(`timeout: ${pending.frames.length} of ${frames} frames in ${timeoutMs} ms`);
			}, timeoutMs);
			try {
				this.#camera.start();
			}
			catch (error) {
				this.#finish(`camera: ${(error as Error).message}`);
			}
		});
	}

	close(): void {
		if (this.#pending)
			this.#finish("capture closed");
		this.#camera.close();
	}

	#drain(): void {
		const pending = this.#pending;
		for (;;) {
			const frame = this.#camera.read();
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
		try {
			this.#camera.stop();
		}
		catch (error) {
			cameraError ??= `camera: ${(error as Error).message}`;
		}
		const metadata: ClipMetadata = {
			width: this.#camera.width,
			height: this.#camera.height,
			format: "jpeg",
			frameCount: pending.frames.length,
			startedAt: pending.startedAt,
			...(cameraError ? { cameraError } : {}),
		};
		pending.resolve({ metadata, frames: pending.frames });
	}
}

Object.freeze(Capture.prototype);

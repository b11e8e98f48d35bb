/*
 * embedded:io/image/in/camera in Moddable's lin simulator, which has no JPEG
 * camera (Moddable's lin camera module reads V4L2 as RGB565 or YUV): the
 * device's camera contract (hardware/camera/host/sensor.ts, frames.c), fed by
 * the JPEG frames of the scene (hardware/scene/lin/scene.ts) at the scene's
 * frame rate while started, in a loop. Like the device's driver, it grabs
 * one frame while it starts, and keeps it ready until the first stop.
 */
import type { SensorOptions } from "hardware/camera/frame";
import Timer from "timer";
import { HostCamera } from "hardware/camera/host";
import type { FrameSource } from "hardware/camera/host";
import { getScene } from "lin/scene";
import type { Scene } from "lin/scene";

type Frame = Scene["frames"][number];

/** The size in a JPEG's start-of-frame segment (any SOFn but DHT, JPG and DAC). */
function jpegSize(frame: Frame): { width: number; height: number } {
	const bytes = new Uint8Array(frame);
	if ((bytes[0] !== 0xFF) || (bytes[1] !== 0xD8))
		throw new Error("camera: scene frame is not a JPEG");
	for (let at = 2; at + 9 < bytes.length;) {
		if (bytes[at] !== 0xFF)
			break;
		const marker = bytes[at + 1];
		const length = (bytes[at + 2] << 8) | bytes[at + 3];
		if ((marker >= 0xC0) && (marker <= 0xCF) && (marker !== 0xC4) && (marker !== 0xC8) && (marker !== 0xCC))
			return { height: (bytes[at + 5] << 8) | bytes[at + 6], width: (bytes[at + 7] << 8) | bytes[at + 8] };
		at += 2 + length;
	}
	throw new Error("camera: scene frame has no JPEG frame header");
}

class SceneFrames implements FrameSource {
	readonly #frames: readonly Frame[];
	readonly #interval: number;
	#next = 0;
	#timer: Timer | undefined;

	constructor() {
		const { frames, fps } = getScene();
		this.#frames = frames;
		this.#interval = Math.round(1000 / fps);
	}

	initialFrame(): ArrayBuffer {
		return this.#take().bytes;
	}

	start(_width: number, _height: number, deliver: (width: number, height: number, frame: ArrayBuffer) => void): void {
		this.#timer ??= Timer.repeat(() => {
			const { width, height, bytes } = this.#take();
			deliver(width, height, bytes);
		}, this.#interval);
	}

	stop(): void {
		if (this.#timer) {
			Timer.clear(this.#timer);
			this.#timer = undefined;
		}
	}

	close(): void {
		this.stop();
	}

	#take(): { width: number; height: number; bytes: ArrayBuffer } {
		const frame = this.#frames[this.#next];
		this.#next = (this.#next + 1) % this.#frames.length;
		return { ...jpegSize(frame), bytes: new Uint8Array(frame).slice().buffer };
	}
}

export default class Camera extends HostCamera {
	constructor(options: SensorOptions) {
		super(options, () => new SceneFrames());
	}
}

Object.freeze(Camera.prototype);

/*
 * The camera in Moddable's lin simulator, which has no camera (Moddable's
 * lin camera module reads V4L2 as RGB565 or YUV, never JPEG): it plays the
 * JPEG frames of the scene (hardware/scene/lin/scene.ts) at the scene's frame
 * rate while started, in a loop. Like esp32-camera with fb_count 2, it holds
 * at most two unread frames and drops the oldest. The size read back is the
 * frames' own, as a sensor reports the size it snapped to.
 */
interface CameraOptions {
	width: number;
	height: number;
	onReadable?: (count: number) => void;
}

import Timer from "timer";
import { getScene } from "lin/scene";
import type { Scene } from "lin/scene";

type Frame = Scene["frames"][number];

const queueLimit = 2;

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

export default class Camera {
	#width: number;
	#height: number;
	#onReadable?: (count: number) => void;
	#frames: readonly Frame[];
	#interval: number;
	#next = 0;
	#queue: Frame[] = [];
	#timer: Timer | undefined;
	#closed = false;

	constructor(options: CameraOptions) {
		if (!Number.isInteger(options.width) || !Number.isInteger(options.height) || (options.width < 16) || (options.height < 16) || (options.width > 2592) || (options.height > 1944))
			throw new RangeError(`camera: unsupported size ${options.width}x${options.height}`);
		if ((options.onReadable !== undefined) && (typeof options.onReadable !== "function"))
			throw new TypeError("camera: onReadable must be a function");
		const { frames, fps } = getScene();
		this.#frames = frames;
		this.#interval = Math.round(1000 / fps);
		({ width: this.#width, height: this.#height } = jpegSize(frames[0]));
		this.#onReadable = options.onReadable;
	}

	get width(): number {
		return this.#width;
	}
	get height(): number {
		return this.#height;
	}
	get imageType(): "jpeg" {
		return "jpeg";
	}

	start(): void {
		this.#check();
		if (!this.#timer)
			this.#timer = Timer.repeat(() => this.#capture(), this.#interval);
	}

	stop(): void {
		this.#check();
		if (this.#timer) {
			Timer.clear(this.#timer);
			this.#timer = undefined;
			this.#queue.length = 0;
		}
	}

	read(): ArrayBuffer | undefined {
		this.#check();
		const frame = this.#queue.shift();
		return frame?.slice(0);
	}

	close(): void {
		if (this.#closed)
			return;
		this.stop();
		this.#closed = true;
	}

	#check(): void {
		if (this.#closed)
			throw new Error("camera: closed");
	}

	#capture(): void {
		const frames = this.#frames;
		const frame = frames[this.#next];
		this.#next = (this.#next + 1) % frames.length;
		({ width: this.#width, height: this.#height } = jpegSize(frame));
		if (this.#queue.length === queueLimit)
			this.#queue.shift();
		this.#queue.push(frame);
		this.#onReadable?.(this.#queue.length);
	}
}

Object.freeze(Camera.prototype);

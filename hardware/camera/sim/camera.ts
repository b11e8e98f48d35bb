/*
 * The simulated camera: the world streams JPEG frames from its scene over the
 * bridge while the firmware has the camera started. Like esp32-camera with
 * fb_count 2, it holds at most two unread frames and drops the oldest.
 */
interface CameraOptions {
	width: number;
	height: number;
	onReadable?: (count: number) => void;
}

import { onMessage, offMessage, send } from "sim/bridge";
import { ToDevice, ToWorld } from "sim/bridge/messages";

const queueLimit = 2;

export default class Camera {
	#width: number;
	#height: number;
	#onReadable?: (count: number) => void;
	#frames: ArrayBuffer[] = [];
	#started = false;
	#closed = false;

	constructor(options: CameraOptions) {
		if (!Number.isInteger(options.width) || !Number.isInteger(options.height) || (options.width < 16) || (options.height < 16) || (options.width > 2592) || (options.height > 1944))
			throw new RangeError(`camera: unsupported size ${options.width}x${options.height}`);
		this.#width = options.width;
		this.#height = options.height;
		this.#onReadable = options.onReadable;
		onMessage(ToDevice.Frame, (payload) => this.#receive(payload));
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
		if (this.#started)
			return;
		this.#started = true;
		this.#announce(1);
	}

	stop(): void {
		this.#check();
		if (!this.#started)
			return;
		this.#started = false;
		this.#frames.length = 0;
		this.#announce(0);
	}

	read(): ArrayBuffer | undefined {
		this.#check();
		return this.#frames.shift();
	}

	close(): void {
		if (this.#closed)
			return;
		if (this.#started)
			this.stop();
		this.#closed = true;
		offMessage(ToDevice.Frame);
	}

	#check(): void {
		if (this.#closed)
			throw new Error("camera: closed");
	}

	#announce(on: number): void {
		const message = new DataView(new ArrayBuffer(7));
		message.setUint8(0, on);
		message.setUint16(1, this.#width);
		message.setUint16(3, this.#height);
		message.setUint16(5, 0);
		send(ToWorld.Camera, message.buffer);
	}

	#receive(payload: ArrayBuffer): void {
		if (!this.#started || (payload.byteLength < 4))
			return;
		const size = new DataView(payload, 0, 4);
		// The sensor answers with the size it really has, as the device's does.
		this.#width = size.getUint16(0);
		this.#height = size.getUint16(2);
		if (this.#frames.length === queueLimit)
			this.#frames.shift();
		this.#frames.push(payload.slice(4));
		this.#onReadable?.(this.#frames.length);
	}
}

Object.freeze(Camera.prototype);

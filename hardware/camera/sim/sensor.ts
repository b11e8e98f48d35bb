/*
 * embedded:io/image/in/camera in the simulator: the device's camera contract
 * (hardware/camera/host/sensor.ts, frames.c), fed by the world, which streams
 * the JPEG frames of its scene over the bridge while the camera is started.
 * The world only streams while the camera is on, so this sensor has no frame
 * from before its first start (the device keeps one it grabbed while
 * starting: hardware/camera/lin/sensor.ts plays that part).
 */
import type { SensorOptions } from "hardware/camera/frame";
import { HostCamera } from "hardware/camera/host";
import type { FrameSource } from "hardware/camera/host";
import { onMessage, offMessage, send } from "sim/bridge";
import { ToDevice, ToWorld } from "sim/bridge/messages";

function announce(on: number, width: number, height: number): void {
	const message = new DataView(new ArrayBuffer(7));
	message.setUint8(0, on);
	message.setUint16(1, width);
	message.setUint16(3, height);
	message.setUint16(5, 0);
	send(ToWorld.Camera, message.buffer);
}

class BridgeFrames implements FrameSource {
	#deliver: ((width: number, height: number, frame: ArrayBuffer) => void) | undefined;
	#width = 0;
	#height = 0;

	constructor() {
		onMessage(ToDevice.Frame, (payload) => this.#receive(payload));
	}

	start(width: number, height: number, deliver: (width: number, height: number, frame: ArrayBuffer) => void): void {
		this.#deliver = deliver;
		this.#width = width;
		this.#height = height;
		announce(1, width, height);
	}

	stop(): void {
		this.#deliver = undefined;
		announce(0, this.#width, this.#height);
	}

	close(): void {
		offMessage(ToDevice.Frame);
	}

	#receive(payload: ArrayBuffer): void {
		if (!this.#deliver || (payload.byteLength <= 4))
			return;
		const size = new DataView(payload, 0, 4);
		this.#deliver(size.getUint16(0), size.getUint16(2), payload.slice(4));
	}
}

export default class Camera extends HostCamera {
	constructor(options: SensorOptions) {
		super(options, () => new BridgeFrames());
	}
}

Object.freeze(Camera.prototype);

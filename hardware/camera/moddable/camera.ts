/*
 * hardware/camera on every platform, over Moddable's embedded:io/image/in/camera:
 * esp32-camera on the device (modules/io/imagein/camera/esp32), the
 * simulator's and lin's stand-ins for it elsewhere (hardware/camera/host),
 * which hold to the device's contract. The sensor encodes JPEG (the OV2640/
 * OV5640 do it in hardware). Frames are read as disposable host buffers:
 * copied once through a view, then closed at once, so the driver's three
 * frame buffers in PSRAM are never held by the firmware.
 */
interface CameraOptions {
	width: number;
	height: number;
	onReadable?: () => void;
}

import SensorCamera from "embedded:io/image/in/camera";
import type { DisposableFrame } from "hardware/camera/frame";

export default class Camera {
	#sensor: SensorCamera;

	constructor(options: CameraOptions) {
		const onReadable = options.onReadable;
		this.#sensor = new SensorCamera({
			width: options.width,
			height: options.height,
			imageType: "jpeg",
			format: "buffer/disposable",
			onReadable: onReadable ? () => onReadable() : undefined,
		});
	}

	get width(): number {
		return this.#sensor.width;
	}
	get height(): number {
		return this.#sensor.height;
	}
	get imageType(): "jpeg" {
		return "jpeg";
	}

	start(): void {
		// The driver grabs a frame while it starts (camera.c) and keeps it until
		// the first stop: a burst wants what the camera sees now, not then.
		for (let frame = this.#frame(); frame; frame = this.#frame())
			frame.close();
		this.#sensor.start();
	}

	stop(): void {
		this.#sensor.stop();
	}

	read(): ArrayBuffer | undefined {
		const frame = this.#frame();
		if (!frame)
			return undefined;
		try {
			// The frame is a host buffer with close() as its only method: its
			// bytes are read through a view, and copied to outlive close().
			return new Uint8Array(frame).slice().buffer;
		}
		finally {
			frame.close();
		}
	}

	close(): void {
		this.#sensor.close();
	}

	/** Under "buffer/disposable" every frame is a DisposableFrame (camera.c xs_camera_read). */
	#frame(): DisposableFrame | undefined {
		return this.#sensor.read() as DisposableFrame | undefined;
	}
}

Object.freeze(Camera.prototype);

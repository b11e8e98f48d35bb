/*
 * The device camera: Moddable's embedded:io/image/in/camera over esp32-camera,
 * set to JPEG (the OV2640/OV5640 encode in hardware). Frames are read as
 * disposable host buffers, copied once, and closed at once, so the driver's
 * three frame buffers in PSRAM are never held by the firmware.
 */
interface CameraOptions {
	width: number;
	height: number;
	onReadable?: (count: number) => void;
}

import SensorCamera from "embedded:io/image/in/camera";

export default class Camera {
	#sensor: SensorCamera;

	constructor(options: CameraOptions) {
		const onReadable = options.onReadable;
		this.#sensor = new SensorCamera({
			width: options.width,
			height: options.height,
			imageType: "jpeg",
			format: "buffer/disposable",
			onReadable: onReadable ? (count: number) => onReadable(count) : undefined,
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
		this.#sensor.start();
	}

	stop(): void {
		this.#sensor.stop();
	}

	read(): ArrayBuffer | undefined {
		const frame = this.#sensor.read();
		if (!frame)
			return undefined;
		try {
			return frame.slice(0);
		}
		finally {
			frame.close();
		}
	}

	close(): void {
		this.#sensor.close();
	}
}

Object.freeze(Camera.prototype);

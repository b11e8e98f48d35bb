/*
 * Compile-time check, no code: every platform's implementation of a hardware
 * module fits the contract that src/ is written against (hardware/<m>/<m>.d.ts).
 * A platform whose module drifts from its contract fails `npm run check`.
 */
import type CameraContract from "hardware/camera";
import type ButtonContract from "hardware/button";
import type MotionContract from "hardware/motion";
import type SensorContract from "embedded:io/image/in/camera";
import type Camera from "./camera/moddable/camera";
import type SimSensor from "./camera/sim/sensor";
import type LinSensor from "./camera/lin/sensor";
import type SimButton from "./button/sim/button";
import type DeviceButton from "./button/esp32/button";
import type SimMotion from "./motion/sim/motion";
import type DeviceMotion from "./motion/esp32/motion";
import type LinButton from "./button/lin/button";
import type LinMotion from "./motion/lin/motion";

type Implements<Contract, Implementation extends Contract> = Implementation;

export type Platforms = [
	Implements<typeof CameraContract, typeof Camera>,
	// The stand-ins for Moddable's camera fit the device's (hardware/camera/esp32/sensor.d.ts).
	Implements<typeof SensorContract, typeof SimSensor>,
	Implements<typeof SensorContract, typeof LinSensor>,
	Implements<typeof ButtonContract, typeof SimButton>,
	Implements<typeof ButtonContract, typeof DeviceButton>,
	Implements<typeof MotionContract, typeof SimMotion>,
	Implements<typeof MotionContract, typeof DeviceMotion>,
	Implements<typeof import("hardware/status"), typeof import("./status/sim/status")>,
	Implements<typeof import("hardware/status"), typeof import("./status/esp32/status")>,
	Implements<typeof ButtonContract, typeof LinButton>,
	Implements<typeof MotionContract, typeof LinMotion>,
	Implements<typeof import("hardware/status"), typeof import("./status/lin/status")>,
	Implements<typeof import("hardware/provisioning"), typeof import("./provisioning/sim/provisioning")>,
	// The device's release module has no interim configuration channel (provisioning.d.ts).
	Implements<Pick<typeof import("hardware/provisioning"), "onPairingRequest">, typeof import("./provisioning/esp32/provisioning")>,
	Implements<typeof import("hardware/provisioning"), typeof import("./provisioning/esp32/development")>,
	Implements<typeof import("hardware/provisioning"), typeof import("./provisioning/lin/provisioning")>,
	Implements<typeof import("hardware/keystore"), typeof import("./keystore/sim/keystore")>,
	Implements<typeof import("hardware/ota"), typeof import("./ota/sim/ota")>,
	Implements<typeof import("hardware/keystore"), typeof import("./keystore/preference/keystore")>,
	Implements<typeof import("hardware/keystore"), typeof import("./keystore/lin/keystore")>,
	Implements<typeof import("hardware/ota"), typeof import("./ota/esp32/ota")>,
	Implements<typeof import("hardware/ota"), typeof import("./ota/lin/ota")>,
	Implements<typeof import("hardware/inference"), typeof import("./inference/interpreter/inference")>,
	Implements<typeof import("hardware/inference"), typeof import("./inference/esp32/inference")>,
	Implements<typeof import("hardware/image"), typeof import("./image/libjpeg/image")>,
	Implements<typeof import("hardware/image"), typeof import("./image/esp32/image")>,
	Implements<typeof import("hardware/resource"), typeof import("./resource/sim/resource")>,
	Implements<typeof import("hardware/resource"), typeof import("./resource/moddable/resource")>,
	Implements<typeof import("hardware/clock"), typeof import("./clock/sim/clock")>,
	// Not hardware, but chosen the same way: the build variants of device/interim.
	Implements<typeof import("device/interim"), typeof import("../src/device/interim/release")>,
	Implements<typeof import("device/interim"), typeof import("../src/device/interim/development")>,
];

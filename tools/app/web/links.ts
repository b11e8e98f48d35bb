/*
 * The two links onboarding runs over (docs/protocol/onboarding.md, "The local
 * link and its framing"), both carrying the same fragments:
 *
 * - WebSocketLink: `doorward app` exposes the simulated device's BLE link at
 *   /link; each binary WebSocket message is one fragment (an ATT write from
 *   the phone, a notification from the device), and the WebSocket closes when
 *   the device ends the connection.
 * - BluetoothLink: Web Bluetooth to a real device's GATT service. Web
 *   Bluetooth does not tell the page the ATT MTU it negotiated, so fragments
 *   are sized for the smallest, 23 (20 bytes per write); the device's
 *   notifications are whatever size its MTU allows. Writes are with response
 *   and one at a time (a GATT server takes one operation at a time).
 */
import type { Link } from "./onboarding.js";
import { OnboardingError } from "./onboarding.js";

export const serviceUuid = "6c0b0001-5d2e-4f7a-9b1c-3e8d0a4f2b61";
export const writeUuid = "6c0b0002-5d2e-4f7a-9b1c-3e8d0a4f2b61";
export const notifyUuid = "6c0b0003-5d2e-4f7a-9b1c-3e8d0a4f2b61";

export async function webSocketLink(url: string, mtu = 185): Promise<Link> {
	const socket = new WebSocket(`${url}?mtu=${mtu}`);
	socket.binaryType = "arraybuffer";
	const notify: ((fragment: Uint8Array) => void)[] = [];
	const closed: (() => void)[] = [];
	let open = true;
	await new Promise<void>((resolve, reject) => {
		socket.onopen = () => resolve();
		socket.onerror = () => reject(new OnboardingError("link", "Cannot reach the device's Bluetooth link (the simulator's WebSocket)."));
	});
	socket.onmessage = (event) => {
		if (event.data instanceof ArrayBuffer)
			notify.forEach((listener) => listener(new Uint8Array(event.data as ArrayBuffer)));
	};
	socket.onclose = () => {
		open = false;
		closed.forEach((listener) => listener());
	};
	return {
		mtu,
		async write(fragment) {
			if (open)
				socket.send(new Uint8Array(fragment));
		},
		onNotify: (listener) => notify.push(listener),
		onClosed: (listener) => closed.push(listener),
		disconnect: () => socket.close(),
	};
}

/** Minimal Web Bluetooth declarations (TypeScript's DOM library has none): the members used here, as the Web Bluetooth draft names them. */
interface GattCharacteristic extends EventTarget {
	readonly value?: DataView;
	startNotifications(): Promise<GattCharacteristic>;
	writeValueWithResponse(value: BufferSource): Promise<void>;
}
interface GattServer {
	connect(): Promise<GattServer>;
	disconnect(): void;
	getPrimaryService(uuid: string): Promise<{ getCharacteristic(uuid: string): Promise<GattCharacteristic> }>;
}
interface BluetoothDevice extends EventTarget {
	readonly gatt?: GattServer;
}
interface Bluetooth {
	requestDevice(options: { filters: { services: string[] }[] }): Promise<BluetoothDevice>;
}

export function bluetoothAvailable(): boolean {
	return "bluetooth" in navigator;
}

/** Asks the user to choose a Doorward device nearby (must run from a click), then connects to its onboarding service. */
export async function bluetoothLink(): Promise<Link> {
	const bluetooth = (navigator as Navigator & { bluetooth?: Bluetooth }).bluetooth;
	if (!bluetooth)
		throw new OnboardingError("link", "This browser has no Web Bluetooth.");
	let device: BluetoothDevice;
	try {
		device = await bluetooth.requestDevice({ filters: [{ services: [serviceUuid] }] });
	}
	catch {
		throw new OnboardingError("link", "No Doorward device was chosen.");
	}
	const server = await device.gatt!.connect();
	const service = await server.getPrimaryService(serviceUuid);
	const write = await service.getCharacteristic(writeUuid);
	const notifyCharacteristic = await service.getCharacteristic(notifyUuid);
	const notify: ((fragment: Uint8Array) => void)[] = [];
	const closed: (() => void)[] = [];
	notifyCharacteristic.addEventListener("characteristicvaluechanged", () => {
		const value = notifyCharacteristic.value;
		if (value)
			notify.forEach((listener) => listener(new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength))));
	});
	device.addEventListener("gattserverdisconnected", () => closed.forEach((listener) => listener()));
	await notifyCharacteristic.startNotifications();
	let queue: Promise<void> = Promise.resolve();
	return {
		mtu: 23,
		write(fragment) {
			queue = queue.then(() => write.writeValueWithResponse(new Uint8Array(fragment)));
			return queue;
		},
		onNotify: (listener) => notify.push(listener),
		onClosed: (listener) => closed.push(listener),
		disconnect: () => server.disconnect(),
	};
}

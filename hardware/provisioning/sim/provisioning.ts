/*
 * Provisioning in the simulator: the world plays the factory station, the
 * phone on the simulated BLE link, and the Wi-Fi (tools/sim/world.ts).
 *
 * The simulated BLE link carries exactly the fragments the device's GATT
 * service carries (one write characteristic, one notify characteristic), so
 * the framing and the onboarding protocol that run here are the device's.
 */
import { onMessage, offMessage, send } from "sim/bridge";
import { ToDevice, ToWorld } from "sim/bridge/messages";
import type { LocalLink, LocalLinkHandlers } from "hardware/provisioning/link";

export function requestConfiguration(): Promise<ArrayBuffer> {
	return new Promise((resolve) => {
		onMessage(ToDevice.Provision, (payload) => {
			offMessage(ToDevice.Provision);
			resolve(payload);
		});
		send(ToWorld.ProvisionRequest);
	});
}

export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void {
	onMessage(ToDevice.Pair, (payload) => send(ToWorld.PairReply, handler(payload)));
}

export function onLocalLink(connect: (link: LocalLink) => LocalLinkHandlers): void {
	let current: LocalLinkHandlers | undefined;
	let connection = 0;
	onMessage(ToDevice.LinkConnect, (payload) => {
		const bytes = new Uint8Array(payload);
		const mtu = (bytes.length === 4) ? (bytes[0] << 8) | bytes[1] : 23;
		// The world's connection handle, as BLE's: notifications and the close carry it, so a late one is not taken for the next connection's.
		const handle = (bytes.length === 4) ? bytes.slice(2, 4) : new Uint8Array(2);
		current?.onDisconnect(); // one connection at a time, as the GATT server
		const mine = ++connection;
		current = connect({
			mtu,
			notify(fragment: Uint8Array) {
				if (mine !== connection)
					return;
				const out = new Uint8Array(2 + fragment.length);
				out.set(handle);
				out.set(fragment, 2);
				send(ToWorld.LinkNotify, out.buffer as ArrayBuffer);
			},
			disconnect() {
				if (mine !== connection)
					return;
				connection++;
				current = undefined;
				send(ToWorld.LinkClosed, handle.slice().buffer as ArrayBuffer);
			},
		});
	});
	onMessage(ToDevice.LinkWrite, (payload) => current?.onWrite(new Uint8Array(payload)));
	onMessage(ToDevice.LinkDisconnect, () => {
		const was = current;
		current = undefined;
		connection++;
		was?.onDisconnect();
	});
}

type Outcome = "joined" | "wrong passphrase" | "network not found";
let joining: ((outcome: Outcome) => void) | undefined;
let listening = false;

export function joinNetwork(ssid: string, passphrase: string): Promise<Outcome> {
	const name = ArrayBuffer.fromString(ssid);
	const secret = ArrayBuffer.fromString(passphrase);
	const payload = new Uint8Array(1 + name.byteLength + secret.byteLength);
	payload[0] = name.byteLength;
	payload.set(new Uint8Array(name), 1);
	payload.set(new Uint8Array(secret), 1 + name.byteLength);
	if (!listening) {
		listening = true;
		onMessage(ToDevice.WifiResult, (result) => {
			const outcome = String.fromArrayBuffer(result) as Outcome;
			const resolve = joining;
			joining = undefined;
			resolve?.(((outcome === "joined") || (outcome === "wrong passphrase")) ? outcome : "network not found");
		});
	}
	return new Promise((resolve) => {
		joining = resolve;
		send(ToWorld.WifiJoin, payload.buffer);
	});
}

/*
 * The onboarding link on the device: a BLE GATT service on Moddable's
 * BLEServer over NimBLE (modules/network/ble/bleserver.js, read with the
 * SDK's examples/network/ble/heart-rate-server). The service
 * (bleservices/onboarding.json) has one write characteristic, which takes
 * the phone's fragments, and one notify characteristic, which carries the
 * device's (src/onboarding/frames.ts). One connection at a time
 * (manifest_server.json's max_connections is 1); the device advertises again
 * when it ends.
 *
 * BLE's own pairing is not used: the onboarding exchange authenticates the
 * phone with the label's code (SPAKE2+) and encrypts what follows, so a
 * "just works" BLE pairing would add nothing and a passkey one would ask
 * the owner for a second code.
 */
import BLEServer from "bleserver";
import { uuid } from "btutils";
import type { Characteristic } from "gatt";
import type { LocalLink, LocalLinkHandlers } from "hardware/provisioning/link";

const serviceUuid = uuid`6C0B0001-5D2E-4F7A-9B1C-3E8D0A4F2B61`;
const notifyName = "notify";
/** The ATT MTU until the phone asks for a larger one. */
const defaultMtu = 23;

class OnboardingService extends BLEServer {
	readonly #connect: (link: LocalLink) => LocalLinkHandlers;
	#handlers: LocalLinkHandlers | undefined;
	#notify: Characteristic | undefined;
	#mtu = defaultMtu;
	#connection = 0;

	constructor(connect: (link: LocalLink) => LocalLinkHandlers) {
		super();
		this.#connect = connect;
	}

	override onReady(): void {
		this.deviceName = "Doorward";
		this.#advertise();
	}

	#advertise(): void {
		this.startAdvertising({ advertisingData: { flags: 6, completeName: this.deviceName, completeUUID128List: [serviceUuid] } });
	}

	override onConnected(): void {
		this.stopAdvertising();
		this.#mtu = defaultMtu;
		this.#notify = undefined;
		const mine = ++this.#connection;
		const mtu = () => this.#mtu;
		const notify = (fragment: Uint8Array) => {
			if ((mine === this.#connection) && this.#notify)
				this.notifyValue(this.#notify, fragment.slice().buffer);
		};
		const disconnect = () => {
			if (mine === this.#connection)
				this.disconnect();
		};
		this.#handlers = this.#connect({
			get mtu() {
				return mtu();
			},
			notify,
			disconnect,
		});
	}

	onMTUExchanged(mtu: number): void {
		this.#mtu = mtu;
	}

	override onCharacteristicNotifyEnabled(characteristic: Characteristic): void {
		if (characteristic.name === notifyName)
			this.#notify = characteristic;
	}

	override onCharacteristicWritten(characteristic: Characteristic, value: ArrayBuffer): void {
		if (characteristic.name === "write")
			this.#handlers?.onWrite(new Uint8Array(value));
	}

	override onDisconnected(): void {
		this.#connection++;
		const handlers = this.#handlers;
		this.#handlers = undefined;
		this.#notify = undefined;
		handlers?.onDisconnect();
		this.#advertise();
	}
}

let service: OnboardingService | undefined;

export function onLocalLink(connect: (link: LocalLink) => LocalLinkHandlers): void {
	if (service)
		throw new Error("onboarding link: already served");
	service = new OnboardingService(connect);
}

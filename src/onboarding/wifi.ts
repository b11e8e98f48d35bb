/*
 * The owner's Wi-Fi network, as the phone sent it inside the onboarding
 * session: kept in the keystore (encrypted NVS on the device), never in the
 * image. A release build compiles in no ssid (variants/README.md).
 */
import { read, write } from "hardware/keystore";
import { utf8Decode, utf8Encode } from "util/bytes";

const entry = "wifi";

export interface Network {
	readonly ssid: string;
	readonly passphrase: string;
}

export function storedNetwork(): Network | undefined {
	const stored = read(entry);
	if (!stored)
		return undefined;
	const json = JSON.parse(utf8Decode(stored)) as Network | Record<string, never>;
	if (typeof json.ssid !== "string")
		return undefined;
	return Object.freeze({ ssid: json.ssid, passphrase: json.passphrase });
}

export function storeNetwork(network: Network): void {
	write(entry, utf8Encode(JSON.stringify({ ssid: network.ssid, passphrase: network.passphrase })));
}

/** Forgets the network (a factory reset): the keystore has no delete, so the entry becomes an empty object. */
export function eraseNetwork(): void {
	if (read(entry))
		write(entry, utf8Encode("{}"));
}

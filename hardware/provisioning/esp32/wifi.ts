/*
 * Joining the owner's Wi-Fi on the device, with the SDK's WiFi
 * (modules/network/wifi/esp32): a scan first, so that a network that is not
 * there is told from a wrong passphrase; then a connection, whose
 * "disconnect" carries -1 when the 4-way handshake failed (xs6wifi.c sets
 * that for ESP-IDF's MIC failure and handshake timeouts): a wrong passphrase.
 */
import WiFi from "wifi";
import Timer from "timer";

type Outcome = "joined" | "wrong passphrase" | "network not found";
const joinMs = 20000;

function seen(ssid: string): Promise<boolean> {
	return new Promise((resolve) => {
		let found = false;
		WiFi.scan({}, (item) => {
			if (!item)
				resolve(found);
			else if (item.ssid === ssid)
				found = true;
		});
	});
}

let current: WiFi | undefined;

export async function joinNetwork(ssid: string, passphrase: string): Promise<Outcome> {
	if (!(await seen(ssid)))
		return "network not found";
	return new Promise((resolve) => {
		current?.close();
		let done = false;
		const finish = (outcome: Outcome) => {
			if (done)
				return;
			done = true;
			Timer.clear(timer);
			resolve(outcome);
		};
		const timer = Timer.set(() => finish("network not found"), joinMs);
		const onNotify = (message: string, reason?: number) => {
			if (message === WiFi.gotIP)
				finish("joined");
			else if ((message === WiFi.disconnected) && (reason === -1))
				finish("wrong passphrase");
		};
		// The WiFi object stays: it reconnects after a lost connection, as the SDK's setup/network does.
		current = new WiFi({ ssid, password: passphrase }, onNotify as unknown as ConstructorParameters<typeof WiFi>[1]);
	});
}

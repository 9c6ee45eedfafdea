// sign.mjs: the independent signer of tests/e2e/wallet.sh (ethers v6).
//
//   node sign.mjs address            prints the EIP-55 address of the key
//   node sign.mjs sign < MESSAGE     prints personal_sign(MESSAGE) (0x, v 27/28)
//
// The private key comes from the environment (KG_SIGN_KEY, 0x + 64 hex), a
// fixed test-only key, never a real one.  The message is read from stdin
// byte for byte (SIWE messages are LF-separated; nothing is trimmed).
import { Wallet, getBytes } from "ethers";
import { readFileSync } from "node:fs";

const key = process.env.KG_SIGN_KEY;
if (!key) {
	console.error("sign.mjs: KG_SIGN_KEY is not set");
	process.exit(2);
}
const wallet = new Wallet(key);
switch (process.argv[2]) {
case "address":
	console.log(wallet.address);
	break;
case "sign": {
	const msg = readFileSync(0);	// raw bytes: signed as given
	console.log(await wallet.signMessage(getBytes(new Uint8Array(msg))));
	break;
}
default:
	console.error("usage: sign.mjs address | sign < message");
	process.exit(2);
}

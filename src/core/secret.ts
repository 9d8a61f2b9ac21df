// A secret as it is kept: ciphertext only. Encryption happens outside the store (src/secrets/secret-box.ts).

export interface EncryptedSecret {
  ciphertext: string;
}

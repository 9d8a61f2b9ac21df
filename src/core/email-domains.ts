// Email domains that say nothing about an organization: anyone can have an address there. Used where an email
// domain is compared with the organization's own (invites outside the organization, posture's owner domains).

/** Free-mail domains never count as the organization's, even when a member signed up with one. */
export const FREE_MAIL_DOMAINS: ReadonlySet<string> = new Set([
  "gmail.com",
  "googlemail.com",
  "outlook.com",
  "hotmail.com",
  "live.com",
  "yahoo.com",
  "icloud.com",
  "me.com",
  "aol.com",
  "proton.me",
  "protonmail.com",
  "gmx.com",
  "mail.ru",
  "yandex.ru",
  "qq.com",
]);

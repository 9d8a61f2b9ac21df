// Where sessions come from: places with their ISP's ASN and an address prefix, and the browsers and tools that
// connect. Real records carry `ip_address_details` with every value as a string (asn, latitude, longitude too),
// so the table keeps them as strings.

import type { AuditLogIpAddressDetails } from "../core/audit-log.ts";
import type { Rng } from "./prng.ts";

export interface Place {
  details: Required<AuditLogIpAddressDetails>;
  /** First two octets of the addresses handed out here (documentation-free but plausible ranges). */
  prefix: string;
}

function place(
  country: string,
  city: string,
  region: string,
  regionCode: string,
  asn: string,
  latitude: string,
  longitude: string,
  prefix: string,
): Place {
  return {
    details: { country, city, region, region_code: regionCode, asn, latitude, longitude },
    prefix,
  };
}

/** Where the org's own people work from (residential and office ISPs). */
export const HOME_PLACES: readonly Place[] = [
  place("US", "San Francisco", "California", "CA", "7922", "37.77490", "-122.41940", "73.170"),
  place("US", "Oakland", "California", "CA", "7018", "37.80440", "-122.27120", "99.47"),
  place("US", "Seattle", "Washington", "WA", "20115", "47.60620", "-122.33210", "71.227"),
  place("US", "New York", "New York", "NY", "701", "40.71280", "-74.00600", "108.6"),
  place("US", "Austin", "Texas", "TX", "11427", "30.26720", "-97.74310", "70.114"),
  place("CA", "Toronto", "Ontario", "ON", "812", "43.65320", "-79.38320", "99.230"),
  place("GB", "London", "England", "ENG", "2856", "51.50740", "-0.12780", "86.150"),
  place("DE", "Berlin", "Land Berlin", "BE", "3320", "52.52000", "13.40500", "91.64"),
  place("FR", "Paris", "Île-de-France", "IDF", "3215", "48.85660", "2.35220", "90.84"),
  place("IN", "Bengaluru", "Karnataka", "KA", "24560", "12.97160", "77.59460", "122.171"),
];

/** Where attackers connect from: hosting providers, VPN exits and far-away consumer ISPs. */
export const HOSTILE_PLACES: readonly Place[] = [
  place("RU", "Moscow", "Moscow", "MOW", "12389", "55.75580", "37.61730", "95.24"),
  place("NL", "Amsterdam", "North Holland", "NH", "14061", "52.36760", "4.90410", "164.92"),
  place("SG", "Singapore", "Central Singapore", "01", "16509", "1.35210", "103.81980", "13.228"),
  place("DE", "Falkenstein", "Saxony", "SN", "24940", "50.47790", "12.37130", "88.198"),
  place("RO", "Bucharest", "Bucuresti", "B", "9009", "44.42680", "26.10250", "185.156"),
  place("BR", "São Paulo", "São Paulo", "SP", "28573", "-23.55050", "-46.63330", "177.32"),
  place("VN", "Hanoi", "Hanoi", "HN", "45899", "21.02780", "105.83420", "113.185"),
  place("NG", "Lagos", "Lagos", "LA", "36873", "6.52440", "3.37920", "105.112"),
  place("UA", "Kyiv", "Kyiv City", "30", "15895", "50.45010", "30.52340", "46.211"),
  place("HK", "Hong Kong", "Central and Western", "HCW", "4760", "22.31930", "114.16940", "112.118"),
];

export interface Device {
  user_agent: string;
  ja3: string;
  ja4: string;
}

const BROWSER_AGENTS = [
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
];

const TOOL_AGENTS = [
  "python-requests/2.32.3",
  "curl/8.7.1",
  "Go-http-client/1.1",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/125.0.6422.60 Safari/537.36",
  "okhttp/4.12.0",
];

function ja4(rng: Rng, alpn: "h2" | "h1"): string {
  const ciphers = String(rng.int(10, 18)).padStart(2, "0");
  const extensions = String(rng.int(10, 18)).padStart(2, "0");
  return `t13d${ciphers}${extensions}${alpn}_${rng.hex(12)}_${rng.hex(12)}`;
}

export function browserDevice(rng: Rng): Device {
  return { user_agent: rng.pick(BROWSER_AGENTS), ja3: rng.hex(32), ja4: ja4(rng, "h2") };
}

export function toolDevice(rng: Rng): Device {
  return { user_agent: rng.pick(TOOL_AGENTS), ja3: rng.hex(32), ja4: ja4(rng, "h1") };
}

export function addressIn(rng: Rng, at: Place): string {
  return `${at.prefix}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** What the KPI derivation needs of a material (from the material library). */
export interface MaterialFactors {
  name: string;
  pricePerKg?: number | undefined;
  scrapValuePerKg: number;
  currency: string;
  co2ePerKg?: number | undefined;
  crm: Readonly<Record<string, number>>;
}

/**
 * Chemical elements on the EU critical raw materials list (Regulation (EU) 2024/1252, Annexes I
 * and II), from config/reference/eu-critical-raw-materials-2024.csv. Only these give a
 * `crm_loss_kg_<El>` KPI; a test keeps this set equal to the CSV.
 */
export const EU_CRM_ELEMENTS: ReadonlySet<string> = new Set(
  'Al As B Be Bi C Ce Co Cu Dy Er Eu Ga Gd Ge He Hf Ho Ir La Li Lu Mg Mn Nb Nd Ni Os P Pd Pr Pt Rh Ru Sb Sc Si Sm Sr Ta Tb Ti Tm V W Y Yb'.split(' '),
);

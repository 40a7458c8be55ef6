/**
 * The verdict of a signature in plain words, one to one with the ETSI EN 319 102-1 §5.1.3
 * indication and sub-indication the validator reports (src/validation/indications.ts). A unit test
 * checks that every sub-indication has a text in both languages.
 */
import type { Indication, SubIndication } from '../../validation/indications.js';
import type { Language } from '../locales/messages.js';

export const INDICATION_TEXTS: Record<Language, Record<Indication, string>> = {
  vi: {
    TOTAL_PASSED: 'Chữ ký hợp lệ',
    TOTAL_FAILED: 'Chữ ký không hợp lệ',
    INDETERMINATE: 'Chưa thể kết luận',
  },
  en: {
    TOTAL_PASSED: 'The signature is valid',
    TOTAL_FAILED: 'The signature is not valid',
    INDETERMINATE: 'No conclusion can be drawn',
  },
};

/** What a passed signature means, and what each sub-indication says about a failed or open one. */
export const PASSED_TEXT: Record<Language, string> = {
  vi: 'Tài liệu không bị thay đổi sau khi ký, chứng thư số của người ký chuỗi đến một tổ chức cung cấp dịch vụ tin cậy và không bị thu hồi tại thời điểm kiểm tra.',
  en: 'The document has not changed since it was signed, the signer’s certificate chains to a trusted authority and was not revoked at the time checked.',
};

export const SUB_INDICATION_TEXTS: Record<Language, Record<SubIndication, string>> = {
  vi: {
    FORMAT_FAILURE: 'Chữ ký không đúng định dạng nên không thể đọc hoặc kiểm tra được.',
    HASH_FAILURE: 'Nội dung đã bị thay đổi sau khi ký: dữ liệu hiện tại không khớp với dữ liệu đã được ký.',
    SIG_CRYPTO_FAILURE: 'Giá trị chữ ký không khớp với khoá công khai của chứng thư số: chữ ký giả mạo hoặc bị hỏng.',
    REVOKED: 'Chứng thư số của người ký đã bị thu hồi trước thời điểm ký được chứng minh.',
    EXPIRED: 'Chứng thư số của người ký đã hết hạn trước thời điểm ký được chứng minh.',
    NOT_YET_VALID: 'Chữ ký được tạo trước khi chứng thư số của người ký có hiệu lực.',
    SIG_CONSTRAINTS_FAILURE: 'Chữ ký thiếu hoặc sai các thuộc tính bắt buộc theo chính sách kiểm tra.',
    CHAIN_CONSTRAINTS_FAILURE: 'Chuỗi chứng thư số vi phạm ràng buộc (mục đích sử dụng khoá, độ dài chuỗi hoặc chính sách).',
    CRYPTO_CONSTRAINTS_FAILURE: 'Thuật toán hoặc độ dài khoá đã dùng không còn được coi là an toàn.',
    CRYPTO_CONSTRAINTS_FAILURE_NO_POE: 'Thuật toán đã dùng không còn an toàn và không có gì chứng minh chữ ký được tạo khi nó còn an toàn.',
    NO_SIGNING_CERTIFICATE_FOUND: 'Không tìm thấy chứng thư số của người ký.',
    NO_CERTIFICATE_CHAIN_FOUND: 'Chứng thư số của người ký không chuỗi đến một tổ chức cung cấp dịch vụ tin cậy mà hệ thống biết.',
    REVOKED_NO_POE: 'Chứng thư số đã bị thu hồi và không có gì chứng minh chữ ký được tạo trước thời điểm thu hồi.',
    REVOKED_CA_NO_POE: 'Chứng thư số của tổ chức cấp đã bị thu hồi và không có gì chứng minh chữ ký được tạo trước đó.',
    OUT_OF_BOUNDS_NO_POE: 'Chứng thư số đã hết hạn hoặc chưa có hiệu lực và không có dấu thời gian chứng minh thời điểm ký.',
    OUT_OF_BOUNDS_NOT_REVOKED: 'Chứng thư số đã hết hạn nhưng không bị thu hồi; không có dấu thời gian chứng minh chữ ký được tạo khi còn hiệu lực.',
    TRY_LATER: 'Chưa lấy được thông tin thu hồi của chứng thư số; hãy kiểm tra lại sau.',
    SIGNED_DATA_NOT_FOUND: 'Không có dữ liệu đã được ký: hãy gửi kèm tài liệu gốc của chữ ký tách rời.',
  },
  en: {
    FORMAT_FAILURE: 'The signature is malformed, so it cannot be read or checked.',
    HASH_FAILURE: 'The content was changed after signing: the data now present is not the data that was signed.',
    SIG_CRYPTO_FAILURE: 'The signature value does not match the certificate’s public key: a forged or damaged signature.',
    REVOKED: 'The signer’s certificate was revoked before the proven time of signing.',
    EXPIRED: 'The signer’s certificate had expired before the proven time of signing.',
    NOT_YET_VALID: 'The signature was made before the signer’s certificate became valid.',
    SIG_CONSTRAINTS_FAILURE: 'The signature lacks, or has wrong, attributes the validation policy requires.',
    CHAIN_CONSTRAINTS_FAILURE: 'The certificate chain breaks a constraint (key usage, path length or policy).',
    CRYPTO_CONSTRAINTS_FAILURE: 'The algorithm or key size used is no longer considered secure.',
    CRYPTO_CONSTRAINTS_FAILURE_NO_POE: 'The algorithm used is no longer secure and nothing proves the signature was made while it was.',
    NO_SIGNING_CERTIFICATE_FOUND: 'The signer’s certificate could not be found.',
    NO_CERTIFICATE_CHAIN_FOUND: 'The signer’s certificate does not chain to a trust service provider this service knows.',
    REVOKED_NO_POE: 'The certificate has been revoked and nothing proves the signature was made before.',
    REVOKED_CA_NO_POE: 'The issuing authority’s certificate has been revoked and nothing proves the signature was made before.',
    OUT_OF_BOUNDS_NO_POE: 'The certificate is expired or not yet valid, and no time-stamp proves when the signature was made.',
    OUT_OF_BOUNDS_NOT_REVOKED: 'The certificate has expired but was not revoked; no time-stamp proves the signature was made while it was valid.',
    TRY_LATER: 'The certificate’s revocation status could not be obtained yet; check again later.',
    SIGNED_DATA_NOT_FOUND: 'The signed data is missing: send the original document of a detached signature with it.',
  },
};

/** The plain-words verdict of one indication and sub-indication. */
export function verdictText(lang: Language, indication: Indication, subIndication: SubIndication | null): { title: string; explanation: string } {
  const explanation = subIndication ? SUB_INDICATION_TEXTS[lang][subIndication] : indication === 'TOTAL_PASSED' ? PASSED_TEXT[lang] : INDICATION_TEXTS[lang][indication];
  return { title: INDICATION_TEXTS[lang][indication], explanation };
}

/** Interface texts. Vietnamese is the default; every key exists in both languages (a test checks). */
export const LANGUAGES = ['vi', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const vi = {
  'app.name': 'Hệ thống xác thực tập trung',
  'app.org': 'Cổng xác thực điện tử',
  'lang.switch': 'English',
  'login.title': 'Đăng nhập',
  'login.intro': 'Đăng nhập để tiếp tục đến {client}.',
  'login.login': 'Tên đăng nhập hoặc số định danh cá nhân',
  'login.password': 'Mật khẩu',
  'login.submit': 'Đăng nhập',
  'login.other': 'Hoặc đăng nhập bằng',
  'login.cancel': 'Huỷ và quay lại',
  'login.error.invalid': 'Tên đăng nhập hoặc mật khẩu không đúng.',
  'login.error.disabled': 'Tài khoản đã bị khoá. Vui lòng liên hệ quản trị viên.',
  'login.error.throttled': 'Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.',
  'login.error.busy': 'Hệ thống đang bận. Vui lòng thử lại sau {seconds} giây.',
  'login.error.missing': 'Vui lòng nhập tên đăng nhập và mật khẩu.',
  'consent.title': 'Cho phép truy cập',
  'consent.intro': '{client} yêu cầu được truy cập các thông tin sau của bạn:',
  'consent.allow': 'Cho phép',
  'consent.deny': 'Từ chối',
  'consent.signedInAs': 'Đang đăng nhập: {name}',
  'scope.openid': 'Định danh tài khoản của bạn',
  'scope.profile': 'Họ và tên',
  'scope.email': 'Địa chỉ thư điện tử',
  'scope.phone': 'Số điện thoại',
  'scope.vn_identity': 'Số định danh cá nhân và loại tài khoản',
  'scope.vn_official': 'Cơ quan, đơn vị, chức vụ và vai trò',
  'scope.offline_access': 'Duy trì truy cập khi bạn không trực tuyến',
  'scope.api': 'Quyền sử dụng API: {scopes}',
  'error.title': 'Đã xảy ra lỗi',
  'error.intro': 'Yêu cầu không thể thực hiện.',
  'error.back': 'Quay lại trang trước và thử lại, hoặc liên hệ bộ phận hỗ trợ với mã yêu cầu bên dưới.',
  'error.requestId': 'Mã yêu cầu',
  'error.csrf': 'Phiên biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang và thử lại.',
  'error.session': 'Phiên đăng nhập đã hết hạn. Vui lòng quay lại cổng dịch vụ và đăng nhập lại.',
  'logout.title': 'Đăng xuất',
  'logout.question': 'Bạn có muốn đăng xuất khỏi hệ thống xác thực tập trung?',
  'logout.question.client': '{client} yêu cầu đăng xuất. Bạn có muốn đăng xuất khỏi hệ thống xác thực tập trung?',
  'logout.none': 'Bạn hiện không đăng nhập vào hệ thống xác thực tập trung.',
  'logout.continue': 'Tiếp tục',
  'logout.return': 'Quay lại {client}',
  'logout.yes': 'Đăng xuất',
  'logout.no': 'Giữ đăng nhập',
  'logout.done.title': 'Đã đăng xuất',
  'logout.done': 'Bạn đã đăng xuất thành công.',
  'logout.done.client': 'Bạn đã đăng xuất khỏi {client}.',
  'federation.title': 'Đăng nhập qua {upstream} không thành công',
  'federation.error.denied': 'Bạn đã huỷ đăng nhập tại {upstream}, hoặc {upstream} không cho phép đăng nhập.',
  'federation.error.rejected': '{upstream} từ chối yêu cầu đăng nhập. Vui lòng thử lại sau.',
  'federation.error.timeout': '{upstream} không phản hồi kịp thời. Vui lòng thử lại sau ít phút.',
  'federation.error.unavailable': '{upstream} đang gặp sự cố và không thể xác thực bạn lúc này. Vui lòng thử lại sau.',
  'federation.error.malformed': '{upstream} trả về thông tin không hợp lệ. Vui lòng thử lại sau hoặc liên hệ bộ phận hỗ trợ.',
  'federation.error.state': 'Phản hồi đăng nhập không khớp với yêu cầu đăng nhập của bạn (liên kết đã cũ hoặc không do bạn mở). Vui lòng bắt đầu lại từ cổng dịch vụ.',
  'federation.error.replay': 'Phản hồi đăng nhập này đã được sử dụng. Vui lòng bắt đầu lại từ cổng dịch vụ.',
  'federation.error.level': 'Tài khoản {upstream} của bạn mới đạt mức xác thực {level}, thấp hơn mức {client} yêu cầu. Vui lòng nâng mức định danh điện tử rồi thử lại.',
  'federation.error.account': 'Không thể đăng nhập bằng tài khoản {upstream} này. Vui lòng liên hệ bộ phận hỗ trợ.',
  'federation.return': 'Quay lại {client}',
  'federation.link.title': 'Liên kết tài khoản cán bộ',
  'federation.link.intro': 'Số định danh cá nhân của bạn đã có tài khoản cán bộ {username}. Để liên kết tài khoản {upstream} với tài khoản cán bộ này, vui lòng nhập mật khẩu của tài khoản cán bộ.',
  'federation.link.submit': 'Liên kết và đăng nhập',
  'federation.link.error': 'Mật khẩu không đúng. Tài khoản chưa được liên kết.',
  'passkey.method': 'Khoá truy cập (passkey)',
  'passkey.title': 'Đăng nhập bằng khoá truy cập',
  'passkey.intro': 'Dùng khoá truy cập (passkey) đã đăng ký trên thiết bị hoặc khoá bảo mật của bạn để đăng nhập vào {client}, không cần mật khẩu.',
  'passkey.start': 'Dùng khoá truy cập',
  'passkey.back': 'Quay lại đăng nhập bằng mật khẩu',
  'passkey.failed': 'Khoá truy cập không được chấp nhận',
  'passkey.unsupported': 'Trình duyệt này không hỗ trợ khoá truy cập.',
  'stepup.title': 'Xác thực bổ sung',
  'stepup.intro': '{client} yêu cầu quyền quản trị ({scopes}). Quyền này cần xác thực mạnh: hãy xác nhận bằng khoá truy cập hoặc chứng thư số.',
  'stepup.introAcr': '{client} yêu cầu mức xác thực cao hơn mức của lần đăng nhập này: hãy xác nhận bằng khoá truy cập hoặc chứng thư số.',
  'stepup.noPasskey': 'Tài khoản của bạn chưa có khoá truy cập. Hãy đăng ký tại trang tài khoản, hoặc dùng chứng thư số.',
  'certificate.method': 'Chứng thư số',
  'certificate.refused': 'Không đăng nhập được bằng chứng thư số',
  'account.title': 'Tài khoản của bạn',
  'account.signedInAs': 'Đang đăng nhập: {name}',
  'account.passkeys': 'Khoá truy cập (passkey)',
  'account.none': 'Bạn chưa đăng ký khoá truy cập nào.',
  'account.created': 'Đăng ký: {date}',
  'account.lastUsed': 'Lần dùng gần nhất: {date}',
  'account.neverUsed': 'Chưa dùng',
  'account.synced': 'đồng bộ giữa các thiết bị',
  'account.deviceBound': 'gắn với một thiết bị',
  'account.rename': 'Đổi tên',
  'account.delete': 'Xoá',
  'account.name': 'Tên khoá truy cập',
  'account.add': 'Thêm khoá truy cập',
  'account.registerFailed': 'Không đăng ký được khoá truy cập',
  'account.logout': 'Đăng xuất',
  'account.enrolmentCode': 'Mã đăng ký (do quản trị viên cấp)',
  'account.enrolmentNeeded':
    'Bạn đăng nhập bằng mật khẩu: để thêm hoặc xoá khoá truy cập, chứng thư đăng nhập, hãy đăng nhập bằng khoá truy cập hoặc chứng thư số, đăng nhập qua Cổng DVCQG mức 2, hoặc nhập mã đăng ký quản trị viên cấp cho bạn.',
  'account.certificates': 'Chứng thư số đăng nhập',
  'account.noCertificates': 'Bạn chưa đăng ký chứng thư số đăng nhập nào.',
  'account.certificatePem': 'Chứng thư số (PEM)',
  'account.addCertificate': 'Đăng ký chứng thư số',
  'account.history': 'Thay đổi gần đây của phương thức đăng nhập',
} as const;

export type MessageKey = keyof typeof vi;

const en: Record<MessageKey, string> = {
  'app.name': 'Central sign-in',
  'app.org': 'Electronic authentication portal',
  'lang.switch': 'Tiếng Việt',
  'login.title': 'Sign in',
  'login.intro': 'Sign in to continue to {client}.',
  'login.login': 'Username or personal identification number',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.other': 'Or sign in with',
  'login.cancel': 'Cancel and go back',
  'login.error.invalid': 'The username or password is wrong.',
  'login.error.disabled': 'This account is disabled. Please contact an administrator.',
  'login.error.throttled': 'Too many failed sign-ins. Please try again in {minutes} minutes.',
  'login.error.busy': 'The service is busy. Please try again in {seconds} seconds.',
  'login.error.missing': 'Please enter your username and password.',
  'consent.title': 'Allow access',
  'consent.intro': '{client} asks to access the following information:',
  'consent.allow': 'Allow',
  'consent.deny': 'Deny',
  'consent.signedInAs': 'Signed in as {name}',
  'scope.openid': 'Your account identifier',
  'scope.profile': 'Your name',
  'scope.email': 'Your e-mail address',
  'scope.phone': 'Your phone number',
  'scope.vn_identity': 'Your personal identification number and account type',
  'scope.vn_official': 'Your agency, unit, position and roles',
  'scope.offline_access': 'Access while you are offline',
  'scope.api': 'Use of the API: {scopes}',
  'error.title': 'Something went wrong',
  'error.intro': 'The request could not be completed.',
  'error.back': 'Go back and try again, or contact support with the request id below.',
  'error.requestId': 'Request id',
  'error.csrf': 'The form has expired or is invalid. Please reload the page and try again.',
  'error.session': 'Your sign-in session has expired. Please go back to the portal and sign in again.',
  'logout.title': 'Sign out',
  'logout.question': 'Do you want to sign out of central sign-in?',
  'logout.question.client': '{client} asks to sign you out. Do you want to sign out of central sign-in?',
  'logout.none': 'You are not signed in to central sign-in.',
  'logout.continue': 'Continue',
  'logout.return': 'Return to {client}',
  'logout.yes': 'Sign out',
  'logout.no': 'Stay signed in',
  'logout.done.title': 'Signed out',
  'logout.done': 'You have signed out.',
  'logout.done.client': 'You have signed out of {client}.',
  'federation.title': 'Signing in with {upstream} failed',
  'federation.error.denied': 'You cancelled the sign-in at {upstream}, or {upstream} did not allow it.',
  'federation.error.rejected': '{upstream} refused the sign-in request. Please try again later.',
  'federation.error.timeout': '{upstream} did not answer in time. Please try again in a few minutes.',
  'federation.error.unavailable': '{upstream} is having problems and cannot sign you in right now. Please try again later.',
  'federation.error.malformed': '{upstream} returned unusable information. Please try again later or contact support.',
  'federation.error.state': 'This sign-in response does not match your sign-in request (the link is old or was not opened by you). Please start again from the portal.',
  'federation.error.replay': 'This sign-in response has already been used. Please start again from the portal.',
  'federation.error.level': 'Your {upstream} account has reached assurance level {level}, below what {client} requires. Please raise your electronic identification level and try again.',
  'federation.error.account': 'This {upstream} account cannot be used to sign in. Please contact support.',
  'federation.return': 'Return to {client}',
  'federation.link.title': 'Link your official account',
  'federation.link.intro': 'Your personal identification number already has the official account {username}. To link your {upstream} account to it, enter the password of the official account.',
  'federation.link.submit': 'Link and sign in',
  'federation.link.error': 'The password is wrong. The accounts were not linked.',
  'passkey.method': 'Passkey',
  'passkey.title': 'Sign in with a passkey',
  'passkey.intro': 'Use a passkey registered on your device or security key to sign in to {client}, without a password.',
  'passkey.start': 'Use a passkey',
  'passkey.back': 'Back to password sign-in',
  'passkey.failed': 'The passkey was not accepted',
  'passkey.unsupported': 'This browser does not support passkeys.',
  'stepup.title': 'Additional verification',
  'stepup.intro': '{client} asks for administration rights ({scopes}). They need a strong sign-in: confirm with a passkey or a digital certificate.',
  'stepup.introAcr': '{client} asks for a stronger sign-in than this one: confirm with a passkey or a digital certificate.',
  'stepup.noPasskey': 'Your account has no passkey yet. Register one on the account page, or use a digital certificate.',
  'certificate.method': 'Digital certificate',
  'certificate.refused': 'Certificate sign-in refused',
  'account.title': 'Your account',
  'account.signedInAs': 'Signed in as {name}',
  'account.passkeys': 'Passkeys',
  'account.none': 'You have not registered any passkey.',
  'account.created': 'Registered: {date}',
  'account.lastUsed': 'Last used: {date}',
  'account.neverUsed': 'Never used',
  'account.synced': 'synced across devices',
  'account.deviceBound': 'bound to one device',
  'account.rename': 'Rename',
  'account.delete': 'Delete',
  'account.name': 'Passkey name',
  'account.add': 'Add a passkey',
  'account.registerFailed': 'The passkey was not registered',
  'account.logout': 'Sign out',
  'account.enrolmentCode': 'Enrolment code (from an administrator)',
  'account.enrolmentNeeded':
    'You signed in with a password: to add or delete a passkey or login certificate, sign in with a passkey or certificate, through DVCQG at LoA2, or enter the enrolment code an administrator gave you.',
  'account.certificates': 'Login certificates',
  'account.noCertificates': 'You have not registered any login certificate.',
  'account.certificatePem': 'Certificate (PEM)',
  'account.addCertificate': 'Register the certificate',
  'account.history': 'Recent changes to your sign-in methods',
};

export const MESSAGES: Record<Language, Record<MessageKey, string>> = { vi, en };

/**
 * A message's `{name}` placeholders filled from `vars`; a placeholder without a value is left as
 * it is when `keepMissing` (the portal's and home page's texts), else emptied.
 */
export function fillMessage(template: string, vars: Record<string, string | number>, keepMissing = false): string {
  return template.replace(/\{(\w+)\}/g, (m, name: string) => {
    const value = vars[name] as string | number | undefined | null;
    return value === undefined || value === null ? (keepMissing ? m : '') : String(value);
  });
}

export function t(lang: Language, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return fillMessage(MESSAGES[lang][key], vars);
}

export const LANG_COOKIE = 'tinnhiem_lang';

/**
 * ?lang= first (and remembered in a cookie), then the cookie, then the relying party's
 * `ui_locales` (OIDC Core §3.1.2.1: space-separated BCP 47 tags, in order of preference; `en-GB`
 * counts as `en`), then Accept-Language, else vi. The person's own choice on a page wins over the
 * portal's hint.
 */
export function pickLanguage(
  ctx: {
    query: Record<string, unknown>;
    cookies: { get(name: string): string | undefined; set(name: string, value: string, opts: object): void };
    acceptsLanguages(...langs: string[]): string | false;
  },
  uiLocales?: unknown,
): Language {
  const asked = typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined;
  if (asked && (LANGUAGES as readonly string[]).includes(asked)) {
    ctx.cookies.set(LANG_COOKIE, asked, { httpOnly: true, sameSite: 'lax', maxAge: 365 * 24 * 3600 * 1000, signed: false });
    return asked as Language;
  }
  const remembered = ctx.cookies.get(LANG_COOKIE);
  if (remembered && (LANGUAGES as readonly string[]).includes(remembered)) return remembered as Language;
  const hinted = uiLocaleLanguage(uiLocales);
  if (hinted) return hinted;
  const accepted = ctx.acceptsLanguages('vi', 'en');
  return accepted === 'en' ? 'en' : 'vi';
}

/** The first language of a `ui_locales` value that the pages have, if any. */
export function uiLocaleLanguage(uiLocales: unknown): Language | undefined {
  if (typeof uiLocales !== 'string') return undefined;
  for (const tag of uiLocales.split(' ')) {
    const primary = tag.split('-')[0].toLowerCase();
    if ((LANGUAGES as readonly string[]).includes(primary)) return primary as Language;
  }
  return undefined;
}

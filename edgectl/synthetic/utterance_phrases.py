"""What synthetic customers and agents say: requests by intent, the tones of each emotion, how
agents answer and read personal data back, in Korean and English. Alternatives are written as one
`|`-separated string; the generator holds out every fourth of each list (`HELD_OUT_EVERY`).

Shared vocabulary (slot values, topic names, emotion cue words) is never held out: real callers
reuse words, not sentences.
"""

from __future__ import annotations


def _p(text: str) -> tuple[str, ...]:
    """Alternatives written as one `|`-separated string."""
    return tuple(part.strip() for part in text.split("|"))


# Customer requests by intent and language (emotion-neutral; emotion comes from the wrapping).
REQUESTS: dict[str, dict[str, tuple[str, ...]]] = {
    "billing_dispute": {
        "ko": _p(
            "이번 달 요금이 {amount} 나왔는데 평소보다 너무 많아요|청구서에 쓰지도 않은 부가서비스 요금이 있어요|"
            "{month} 요금이 두 번 빠져나갔어요|약정 할인이 적용이 안 된 것 같아요|"
            "데이터 초과 요금이 {amount}이나 붙었어요|요금 명세서 금액이 안내받은 거랑 달라요|왜 위약금이 청구됐는지 모르겠어요|"
            "청구 금액이 이상해서 이의 신청하려고요|요금이 왜 이렇게 많이 나왔는지 설명 좀 해주세요|"
            "할인 받기로 했는데 청구서에는 정가로 나왔어요|해지한 부가서비스가 아직도 청구되고 있어요|"
            "결제 금액이 명세서랑 안 맞아서 환불받고 싶어요"
        ),
        "en": _p(
            "my bill this month is {amount}, way more than usual|"
            "there's a charge on my bill for a service I never used|"
            "I was charged twice for {month}|my contract discount wasn't applied|"
            "I got a data overage charge of {amount}|"
            "the invoice doesn't match what I was quoted|"
            "why was I billed an early termination fee|"
            "I want to dispute a charge on my invoice|"
            "can you explain why my bill is so high|"
            "I was promised a discount but billed full price|"
            "I'm still being charged for an add-on I cancelled|"
            "the amount taken doesn't match the invoice, I want a refund"
        ),
    },
    "plan_change": {
        "ko": _p(
            "요금제를 {plan}로 바꾸고 싶어요|데이터를 별로 안 써서 더 싼 요금제로 변경하려고요|"
            "다음 달부터 무제한 요금제로 올릴 수 있을까요|지금 요금제보다 저렴한 거 추천해 주세요|가족 결합 할인 되는 요금제가 있나요|"
            "{plan} 요금제 혜택이 궁금해요|요금제 변경하면 언제부터 적용돼요|데이터 쉐어링 되는 요금제로 갈아타고 싶어요|"
            "요금제를 한 단계 낮추고 싶어요|데이터 더 많이 주는 요금제로 올려주세요|지금 요금제 말고 {plan}로 변경 가능해요?|"
            "요금제를 바꾸면 할인이 유지되나요"
        ),
        "en": _p(
            "I'd like to switch to the {plan} plan|"
            "I barely use data, can I move to a cheaper plan|"
            "can I upgrade to unlimited next month|"
            "what plans are cheaper than mine|"
            "is there a family bundle plan with a discount|"
            "what does the {plan} plan include|"
            "if I change plans when does it take effect|"
            "I want a plan that lets me share data with my tablet|"
            "I'd like to downgrade my plan|please move me to a plan with more data|"
            "can I change from my current plan to {plan}|"
            "will I keep my discount if I change plans"
        ),
    },
    "roaming": {
        "ko": _p(
            "다음 주에 {country} 가는데 로밍 어떻게 신청해요|해외에서 데이터 로밍 요금이 너무 많이 나왔어요|"
            "{country}에서 로밍이 안 돼요|해외 출장 가는데 하루 무제한 로밍 있나요|로밍 차단 해제는 어떻게 하나요|"
            "{country} 여행용 데이터 로밍 상품 추천해 주세요|해외에서 문자가 안 받아져요|로밍 요금제 기간을 연장하고 싶어요|"
            "{country} 도착했는데 데이터가 안 돼요|로밍 요금이 하루에 얼마예요|해외에서 전화 받으면 요금이 나가나요|"
            "출국 전에 로밍 신청 해두고 싶어요"
        ),
        "en": _p(
            "I'm going to {country} next week, how do I turn on roaming|"
            "my roaming charges abroad were huge|"
            "roaming isn't working in {country}|"
            "do you have a daily unlimited roaming pass for business trips|"
            "how do I remove the roaming block|"
            "which data roaming pack is best for {country}|"
            "I can't receive texts while abroad|I need to extend my roaming pass|"
            "I just landed in {country} and have no data|"
            "how much is roaming per day|do I pay for incoming calls abroad|"
            "I want roaming set up before I fly out"
        ),
    },
    "coverage_outage": {
        "ko": _p(
            "{place} 쪽에서 전화가 계속 끊겨요|집에서 신호가 안 잡혀요, 안테나가 한 칸이에요|"
            "오늘 아침부터 인터넷이 아예 안 돼요|5G가 안 잡히고 자꾸 LTE로 넘어가요|"
            "{place} 근처에서 통화 품질이 너무 나빠요|지금 장애 난 거 아니에요? 데이터가 전혀 안 돼요|"
            "지하철만 타면 데이터가 끊겨요|사무실 안에서 통화가 자꾸 먹통이 돼요|우리 동네만 신호가 약한 것 같아요|"
            "기지국 공사하나요? 통화가 자꾸 끊겨요|{place}에서 인터넷 속도가 너무 느려요|밤마다 네트워크가 먹통이 돼요"
        ),
        "en": _p(
            "calls keep dropping around {place}|I get one bar of signal at home|"
            "the internet has been down since this morning|"
            "5G never connects, it keeps falling back to LTE|"
            "call quality near {place} is terrible|"
            "is there an outage? data isn't working at all|"
            "data cuts out every time I'm on the subway|"
            "my calls keep going dead inside the office|"
            "the signal is weak only in my neighbourhood|"
            "is a cell tower down? my calls keep cutting out|"
            "mobile data is crawling at {place}|the network goes dead every night"
        ),
    },
    "device_issue": {
        "ko": _p(
            "{device} 쓰는데 배터리가 너무 빨리 닳아요|휴대폰이 계속 재부팅돼요|{device} 화면이 갑자기 안 켜져요|"
            "업데이트 후에 와이파이가 안 잡혀요|통화할 때 상대방 목소리가 안 들려요|새로 산 {device}가 충전이 안 돼요|"
            "카메라 앱이 자꾸 꺼져요|기기 수리 접수는 어떻게 하나요|{device} 스피커에서 소리가 안 나요|"
            "폰이 너무 뜨거워지고 느려져요|액정이 깨졌는데 보험 처리 되나요|{device} 전원 버튼이 안 눌려요"
        ),
        "en": _p(
            "my {device} battery drains really fast|"
            "the phone keeps rebooting by itself|the {device} screen won't turn on|"
            "wifi stopped working after the software update|"
            "I can't hear the other person during calls|"
            "my new {device} won't charge|the camera app keeps crashing|"
            "how do I book a repair for my handset|"
            "no sound comes out of my {device} speaker|"
            "the phone overheats and gets slow|"
            "my screen cracked, does insurance cover it|"
            "the power button on my {device} is stuck"
        ),
    },
    "number_porting": {
        "ko": _p(
            "번호이동 하려는데 절차가 어떻게 되나요|다른 통신사로 번호 그대로 옮기고 싶어요|"
            "{carrier}로 번호이동 하면 위약금이 얼마예요|알뜰폰으로 옮기려는데 번호 유지되나요|번호이동 인증번호가 안 와요|"
            "{carrier}에서 더 좋은 조건을 줘서 옮길까 해요|통신사 바꿔도 지금 번호 계속 쓸 수 있죠|"
            "번호이동 신청했는데 아직 개통이 안 됐어요|번호이동 하면 남은 할부금은 어떻게 돼요|"
            "번호 그대로 {carrier}로 넘어가려고요|번호이동 가능한지 조회하고 싶어요|번호이동 접수 취소하고 싶어요"
        ),
        "en": _p(
            "how do I port my number out|"
            "I want to move my number to another carrier|"
            "what's the fee if I port to {carrier}|"
            "can I keep my number if I switch to an MVNO|"
            "I never got the porting verification code|"
            "{carrier} offered me a better deal so I'm moving|"
            "if I switch providers can I keep this number|"
            "I requested a port-out and it still hasn't gone through|"
            "what happens to my device installments if I port out|"
            "I'm taking my number over to {carrier}|"
            "can you check whether my number can be ported|"
            "I'd like to cancel my port-out request"
        ),
    },
    "cancellation": {
        "ko": _p(
            "해지하고 싶어요|이 회선 해지 신청하려고 전화했어요|더 이상 안 쓸 거라 계약 해지해 주세요|해지하면 위약금이 얼마예요|"
            "인터넷이랑 같이 전부 해지할게요|서비스 그만 쓸 테니 해지 절차 알려주세요|부모님 명의 회선 해지하려고요|"
            "약정 끝나면 바로 해지할 거예요|이번 달까지만 쓰고 해지할게요|해지 접수 어디서 하나요|위약금 내더라도 해지하겠습니다|"
            "해지 말고는 방법이 없네요"
        ),
        "en": _p(
            "I want to cancel my service|I'm calling to cancel this line|"
            "please terminate my contract, I won't use it anymore|"
            "how much is the fee if I cancel|"
            "cancel everything including the home internet|"
            "tell me how to close my account|I need to cancel my mother's line|"
            "I'm cancelling as soon as my contract ends|"
            "I'll use it until the end of the month and then cancel|"
            "where do I request a cancellation|I'll pay the fee, just cancel it|"
            "I see no option other than cancelling"
        ),
    },
    "sim_esim": {
        "ko": _p(
            "유심을 잃어버려서 재발급 받고 싶어요|eSIM으로 바꾸고 싶은데 어떻게 해요|새 폰에 유심을 옮겼는데 인식이 안 돼요|"
            "듀얼심으로 eSIM 하나 더 개통하려고요|유심 교체하려면 매장 가야 하나요|eSIM 프로필 다운로드가 실패해요|"
            "유심 PIN을 잊어버려서 잠겼어요|폰 바꿨는데 eSIM 이전은 어떻게 하나요|유심이 고장 난 것 같아요, 교체해 주세요|"
            "eSIM 개통이 계속 안 돼요|폰에 유심 없음이라고 떠요|유심 재발급 비용이 얼마예요"
        ),
        "en": _p(
            "I lost my SIM card and need a replacement|how do I switch to an eSIM|"
            "I moved my SIM to the new phone and it's not detected|"
            "I want to add a second line as an eSIM|"
            "do I have to visit a store to swap the SIM|"
            "the eSIM profile download keeps failing|"
            "my SIM is locked and I forgot the PIN|"
            "how do I transfer my eSIM to a new phone|"
            "my SIM seems broken, please replace it|"
            "my eSIM activation keeps failing|the phone says no SIM|"
            "how much is a replacement SIM"
        ),
    },
    "fraud_security": {
        "ko": _p(
            "보이스피싱 사기 전화를 받았어요|제 명의로 모르는 회선이 개통돼 있어요|누가 제 계정을 해킹해서 로그인한 것 같아요|"
            "검찰 사칭 문자로 돈을 보내라는데 사기 같아요|제가 안 한 소액결제가 빠져나갔어요|스미싱 문자 링크를 눌러버렸어요|"
            "명의도용 당한 것 같아서 확인하고 싶어요|모르는 곳에서 인증번호가 계속 와요, 해킹당한 건가요|"
            "제 번호로 스팸 문자가 나간대요|해외에서 로그인 시도 알림이 왔어요|가족을 사칭한 문자에 속아서 돈을 보냈어요|"
            "제 명의로 개통 못 하게 막아 주세요"
        ),
        "en": _p(
            "I got a call that sounded like a voice phishing scam|"
            "there's a line opened in my name that I never ordered|"
            "someone hacked into my account|"
            "someone pretending to be the prosecutor texted me for money, it's a scam right|"
            "there's a micro-payment I didn't make|"
            "I clicked a link in a smishing text|I think my identity was stolen|"
            "I keep getting verification codes I didn't ask for, am I hacked|"
            "people say spam texts are coming from my number|"
            "I got an alert about a login attempt from abroad|"
            "I fell for a text pretending to be my family and sent money|"
            "please block any new lines being opened in my name"
        ),
    },
    "other": {
        "ko": _p(
            "안녕하세요, 문의 좀 드리려고요|네 맞아요|잠시만요, 찾아볼게요|매장 영업시간이 어떻게 되나요|알겠습니다|"
            "음성사서함 설정은 어떻게 하나요|멤버십 포인트 조회하고 싶어요|네 그렇게 해 주세요|고객센터 전화번호가 뭐예요|"
            "멤버십 할인 매장이 어디예요|통화 연결음 바꾸고 싶어요|잠깐만 기다려 주세요"
        ),
        "en": _p(
            "hi, I have a question|yes, that's right|hold on, let me check|"
            "what are your store opening hours|okay, got it|"
            "how do I set up voicemail|I'd like to check my membership points|"
            "sure, go ahead|what's the customer service number|"
            "which stores take my membership discount|"
            "I want to change my ringback tone|just a second please"
        ),
    },
}
# Emotion as it shows around a request: (prefixes, suffixes) per language.
TONES: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "calm": {"ko": (_p("|안녕하세요,|문의드릴 게 있는데요,|저기요,|혹시|그런데|음,|네,"), _p("|확인 부탁드려요|알려주실 수 있나요?|부탁드립니다|요.|궁금해서요|가능할까요?|.")),
             "en": (_p("|hi,|hello, quick question:|excuse me,|um,|so,|I was wondering,|right,"), _p("|please|could you check?|thanks|if possible|.|when you have a moment|could you help?|."))},
    "frustrated": {"ko": (_p("벌써 세 번째 전화하는 건데요,|몇 번을 말씀드려야 하나요,|아까도 전화했는데|진짜 답답하네요,|한 시간째 기다렸는데|지난주에도 문의했는데|하... 또|계속 미루시는데"),
                          _p("언제 해결되는 거예요?|이게 몇 번째인지 모르겠어요|정말 답답해요|아직도 안 됐어요|너무 불편해요|왜 매번 이래요?|지치네요|언제까지 기다려야 해요?")),
                   "en": (_p("this is the third time I'm calling,|how many times do I have to explain,|I already called earlier and|honestly this is so frustrating,|I've been on hold for an hour and|I reported this last week and|ugh, again|you keep putting me off and"),
                          _p("when will this be fixed?|I've lost count of how many times|it's really annoying|it's still not sorted|this is such a hassle|why does this keep happening?|I'm tired of this|how long do I have to wait?"))},
    "angry": {"ko": (_p("장난하세요?|지금 이게 말이 돼요?|정말 화나네요.|책임자 바꿔주세요!|어이가 없네요,|이건 사기 아닌가요?|도대체 일을 어떻게 하는 거예요?|더는 못 참겠어요,"),
                     _p("당장 처리해 주세요!|소비자원에 신고할 거예요|진짜 최악이에요|이게 말이 됩니까?|책임지세요!|가만 안 있을 거예요|!!|다시는 안 써요")),
              "en": (_p("are you kidding me?|this is absolutely unacceptable!|I'm furious.|get me a supervisor now!|this is outrageous,|this is a scam!|what is wrong with you people?|I've had it,"),
                     _p("fix it right now!|I'm reporting you to the regulator|worst service ever|how is this even legal?|someone is going to answer for this!|I'm done with you|!!|never again"))},
    "satisfied": {"ko": (_p("감사합니다,|덕분에 해결됐어요,|친절하게 안내해 주셔서 고마워요,|와 정말 빠르네요,|좋아요,|다행이네요,|설명 잘 들었어요,|이제 됐네요,"),
                         _p("정말 감사합니다|도움 많이 됐어요|좋네요|고맙습니다!|만족해요|수고하세요|마음이 놓이네요|좋은 하루 보내세요")),
                  "en": (_p("thank you so much,|that fixed it,|thanks for being so helpful,|wow, that was quick,|great,|what a relief,|thanks for explaining,|perfect,"),
                         _p("really appreciate it|you've been a great help|that's great|thanks again!|I'm happy with that|have a nice day|that's a weight off my mind|cheers"))},
}
# What the session is about, as an agent or a satisfied customer names it.
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # (Korean, English)
    "billing_dispute": (_p("요금 청구|청구 금액|요금 이의 신청"), _p("the billing issue|the charge on your invoice|your bill")),
    "plan_change": (_p("요금제 변경|요금제|새 요금제"), _p("the plan change|your new plan|the plan switch")),
    "roaming": (_p("로밍|해외 로밍|로밍 상품"), _p("roaming|the roaming pass|roaming abroad")),
    "coverage_outage": (_p("통화 품질|네트워크 장애|신호 문제"), _p("the signal problem|the network outage|call quality")),
    "device_issue": (_p("단말기 고장|기기 문제|휴대폰 수리"), _p("the handset fault|your device|the phone repair")),
    "number_porting": (_p("번호이동|번호이동 신청|통신사 변경"), _p("the number port|porting your number|the transfer")),
    "cancellation": (_p("해지|해지 신청|계약 해지"), _p("the cancellation|closing the account|the termination")),
    "sim_esim": (_p("유심|eSIM|유심 재발급"), _p("the SIM card|the eSIM|the SIM replacement")),
    "fraud_security": (_p("명의도용|보이스피싱 피해|계정 보안"), _p("the fraud case|the phishing report|your account security")),
}
RESOLVED = {"ko": _p("{topic} 문제 해결해 주셔서 감사해요|{topic} 이제 잘 되네요|{topic} 처리됐다니 다행이에요|{topic} 건 깔끔하게 정리됐네요"),
            "en": _p("thanks for sorting out {topic}|{topic} works fine now|glad {topic} is handled|{topic} is all cleared up now")}
AGENT_TOPIC = {"ko": _p("고객님, {topic} 관련해서 확인해 드리겠습니다|{topic} 건은 제가 바로 처리해 드릴게요|{topic} 문의 주셨군요, 잠시만 기다려 주세요|"
                        "불편을 드려 죄송합니다, {topic} 내역 확인해 보겠습니다"),
               "en": _p("let me look into {topic} for you|I'll take care of {topic} right away|you're calling about {topic}, one moment please|"
                        "sorry for the trouble, I'm checking {topic} now")}
AGENT_GENERIC = {"ko": _p("네 고객님, 무엇을 도와드릴까요?|본인 확인을 위해 성함 말씀해 주시겠어요?|잠시만 기다려 주세요|다른 문의사항 있으신가요?"),
                 "en": _p("hello, how can I help you today?|can you confirm your name for verification?|please hold for a moment|is there anything else I can help with?")}
PII_CARRIERS = {
    "ko": {"PHONE": _p("제 번호는 {v}이에요|연락처는 {v}입니다|{v}로 연락 주세요|회선 번호 {v}요"),
           "RRN": _p("주민번호는 {v}입니다|본인 확인용으로 {v} 불러드릴게요|주민등록번호 {v}요|{v} 제 주민번호예요"),
           "FRN": _p("외국인등록번호는 {v}예요|등록번호 {v}입니다|제 외국인 번호 {v}요|{v} 이게 등록번호예요"),
           "CARD": _p("카드번호 {v}로 결제했어요|자동이체 카드는 {v}예요|{v} 카드로 바꿔주세요|결제 카드가 {v}인데요"),
           "EMAIL": _p("메일 주소는 {v}입니다|{v}로 청구서 보내주세요|이메일 {v}요|제 메일이 {v}예요"),
           "ADDRESS": _p("주소는 {v}이에요|{v}로 유심 보내주세요|사는 곳은 {v}입니다|청구지 주소 {v}로 바꿔주세요")},
    "en": {"PHONE": _p("my number is {v}|you can reach me at {v}|call me back on {v}|the line is {v}"),
           "RRN": _p("my resident registration number is {v}|for verification it's {v}|my RRN is {v}|ID number {v}"),
           "FRN": _p("my alien registration number is {v}|my registration number is {v}|foreigner ID {v}|it's {v} on my residence card"),
           "CARD": _p("I paid with card {v}|my card number is {v}|charge it to {v}|the autopay card is {v}"),
           "EMAIL": _p("my email is {v}|send the invoice to {v}|you can email me at {v}|it's {v}"),
           "ADDRESS": _p("I live at {v}|ship it to {v}|my billing address is {v}|send the SIM to {v}")},
}
SLOTS = {  # (Korean, English) values of each request slot
    "amount": (_p("55,000원|132,000원|89,900원|210,500원"), _p("$120|$64.50|89,000 won|$210")),
    "month": (_p("10월|지난달|9월|이번 달"), _p("September|last month|October|this month")),
    "plan": (_p("5G 슬림 69|LTE 데이터 33|5G 프리미어|청소년 요금제"), _p("Unlimited Plus|Basic 5G|Data 33|5G Premier")),
    "country": (_p("일본|베트남|미국|태국|스페인"), _p("Japan|Vietnam|the US|Thailand|Spain")),
    "place": (_p("강남역|해운대|판교|홍대 입구|공항"), _p("Gangnam station|the airport|downtown|Haeundae|my office park")),
    "device": (_p("갤럭시 S24|아이폰 15|갤럭시 Z 플립|픽셀 8"), _p("Galaxy S24|iPhone 15|Pixel 8|Galaxy Z Flip")),
    "carrier": (_p("다른 통신사|알뜰폰|경쟁사"), _p("another carrier|an MVNO|a competitor")),
}
AGENT_PII = {"ko": _p("말씀하신 {v} 맞으신가요?|확인차 여쭤볼게요, {v} 맞으시죠?|등록된 정보는 {v}로 되어 있습니다|{v}로 변경 도와드릴게요"),
             "en": _p("just to confirm, that's {v}?|I have {v} on file|so that's {v}, correct?|I'll update it to {v}")}
# Shared vocabulary (never split): the words of a feeling, and how callers name their topic.
CUES = {"calm": (_p("혹시|좀|문의|궁금"), _p("please|just|wondering|quick")),
        "frustrated": (_p("또|계속|아직도|몇 번이나|답답"), _p("again|still|keep|already|frustrating")),
        "angry": (_p("진짜|당장|도대체|화나|최악"), _p("seriously|ridiculous|unacceptable|now|worst")),
        "satisfied": (_p("감사|다행|좋아요|고마워요|만족"), _p("thanks|great|relief|appreciate|happy"))}
ABOUT = {"ko": _p("{topic} 때문에 전화했는데요,|{topic} 관련해서요,|{topic} 문의인데요,|{topic} 건으로 연락드려요,"),
         "en": _p("I'm calling about {topic}.|it's about {topic}.|quick one on {topic}:|regarding {topic},")}
CHAT_MARKS = {"calm": ("", ""), "frustrated": ("ㅠㅠ", " :("), "angry": ("!!!", "!!!"), "satisfied": ("^^", " :)")}
